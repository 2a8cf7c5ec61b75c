"""The send pipeline, one step per module, in the order a campaign goes through them.

audience (who: counted, and snapshotted into the ledger)
-> batching (prepare: snapshot + keyset batches; leases; the queue's window)
-> engine (one batch: sender threads) -> senders (take, render, claim, send, record)
   -> rendering (one delivery -> one message, from compiling: each language version
      compiled once, split at slots) -> mime (bytes)
   -> transports (SMTP or any Anymail backend, one message per call; Postmark's batch call)
   -> outcomes (sent / failed / retry / unknown, and why)
   -> ledger (the claim and record statements: what was sent, exactly once)
throttle is the send rate all workers share; plugins is where the apps above
campaigns add audience filters, per-recipient blocks and send-page notes (from
their AppConfig.ready()). What follows a batch (the next ones, a retry, a
pause, "sent") is decided in campaigns/tasks.py, above the pipeline and the
campaign's lifecycle.
"""
