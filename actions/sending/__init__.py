"""Letters to targets, one module per step.

messages (a letter or a day's digest as an email) -> claims (the ledger's
statements: claim, record, defer, lease, the sweeper's repairs) -> transport
(campaigns' SMTP and provider paths, and their outcome classes) -> letters
(each letter as it comes) and digest (one email per target and day). The
Celery tasks that drive them are in ``actions/tasks.py``.
"""
