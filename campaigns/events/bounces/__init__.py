"""Bounces without an email provider: VERP envelope senders, DSN and ARF reports, a mailbox to poll.

``verp`` gives each SMTP delivery its own signed envelope sender; ``reading``
turns one returned message into findings (hard, soft, complaint); ``ingest``
records them through ``campaigns.events.recording``, exactly as a provider's
webhook would be; ``mailbox`` reads an IMAP or POP3 mailbox of them.
"""
