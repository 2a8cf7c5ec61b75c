"""Work that must leave for the Celery broker, written in the same transaction as the change.

``outbox.relay.enqueue(task, args=…)`` inside a transaction stores a row;
after the commit the row is handed to the broker at once or, while the
broker is down, by beat's relay (``outbox.tasks.relay_outbox``) once it is
back. It knows nothing of people or campaigns, so every app may use it: it
sits below subscribers in the layers.

Every place that queues Celery work from a request or a command, and what it
does while the broker is down, is in the README ("Health, readiness, and
when Redis or PostgreSQL is down"): keep that table true when adding one.
"""
