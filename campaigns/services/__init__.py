"""What staff write: a campaign's draft (``drafts``) and test emails to themselves (``proofs``).

Status changes (approve, schedule, send, pause…) are ``campaigns.lifecycle``'s.
The admin, the API and the CLI call these same functions, so their rules
cannot drift; each raises a domain exception that the caller turns into its
own kind of answer (a form error, a 400, a command error).
"""
