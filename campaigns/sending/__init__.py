"""The send pipeline, one step per module.

audience (who, counted and snapshotted) -> batching (keyset batches, leases)
-> rendering (one Delivery -> one message; merge_fields) -> mime (bytes)
-> smtp / provider_batch (transports) -> engine (claim, send, record: the ledger)
-> control (prepare, sweep, finish); throttle is the shared send rate;
plugins is where the apps above campaigns add audience filters, per-recipient
blocks and send-page notes (from their AppConfig.ready()).
"""
