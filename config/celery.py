"""The Celery app: queues, routing and the beat schedule.

Urgent alerts get a queue of their own because kombu's Redis transport reads
queues in turn, not by priority: `make run` starts one worker that serves only
``urgent`` so an alert never waits behind a bulletin's batches.

Work queued from a web request must survive a broker outage: through the
outbox (outbox/relay.py) or a database row the sweeper reads; the README's
"when Redis or PostgreSQL is down" table lists every such place.

Beat runs once across every machine: config/beat.py's scheduler dispatches
only while it holds a lock in Redis. Workers write a heartbeat for /readyz,
and each send batch's duration goes to a histogram (config/histograms.py).
"""

from __future__ import annotations

import logging.config
import os
import time
from functools import partial
from typing import Any

from celery import Celery, bootsteps, signals
from django.conf import settings
from kombu import Queue

from config import observability

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tocsin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (
    Queue("urgent"),
    Queue("default"),
    Queue("bulk"),
)
app.conf.task_default_queue = "default"
# Only the beat holding the lock in Redis dispatches (config/beat.py); it ticks
# at least every 5 s, so that its lock never lapses between two ticks.
app.conf.beat_scheduler = "config.beat:SingleBeatScheduler"
app.conf.beat_max_loop_interval = 5
_SWEEP = max(float(getattr(settings, "TOCSIN_SEND_SWEEP_SECONDS", 15.0)), 2.0)
_RELAY = max(float(getattr(settings, "TOCSIN_OUTBOX_RELAY_SECONDS", 5.0)), 1.0)
_WEBHOOK_SWEEP = max(float(getattr(settings, "TOCSIN_WEBHOOK_SWEEP_SECONDS", 10.0)), 1.0)
_JOURNEYS = max(float(getattr(settings, "TOCSIN_JOURNEY_SECONDS", 10.0)), 1.0)
app.conf.beat_schedule = {
    "purge-unconfirmed-signups": {
        "task": "subscribers.tasks.purge_unconfirmed",
        "schedule": 3600.0,
    },
    # The sending engine's safety net (campaigns/tasks.py, sweep): unknown rows,
    # lapsed batch leases, campaigns to mark sent. Expires so that a backlog
    # of sweeps never piles up while no worker runs.
    "sweep-sending-campaigns": {
        "task": "campaigns.tasks.sweep_sending",
        "schedule": _SWEEP,
        "options": {"expires": _SWEEP - 1},
    },
    # Letters to targets (actions/sending/): unknown after a dead worker, the
    # day's digests, and any letter left pending (lost task, back-off, daily cap).
    "sweep-letters": {
        "task": "actions.tasks.sweep_letters",
        "schedule": _SWEEP,
        "options": {"expires": _SWEEP - 1},
    },
    # Emails and other task calls written while the broker was down
    # (outbox/relay.py): handed over within a few seconds of its return.
    "relay-outbox": {
        "task": "outbox.tasks.relay_outbox",
        "schedule": _RELAY,
        "options": {"expires": max(_RELAY - 1, 1.0)},
    },
    # Outgoing webhooks (integrations/queueing.py): retries that came due, and
    # deliveries whose after-commit hand-over never reached the broker.
    "sweep-outgoing-webhooks": {
        "task": "integrations.tasks.sweep_webhooks",
        "schedule": _WEBHOOK_SWEEP,
        "options": {"expires": max(_WEBHOOK_SWEEP - 1, 1.0)},
    },
    "purge-webhook-deliveries": {
        "task": "integrations.tasks.purge_webhook_deliveries",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
    # Scheduled campaigns start within ~10 s of their time (exactly once: the
    # status transition runs under a row lock).
    "start-due-campaigns": {
        "task": "campaigns.tasks.start_due_campaigns",
        "schedule": 10.0,
        "options": {"expires": 9},
    },
    # Journeys' due steps (journeys/engine.py): every person's step within a
    # minute of its time; batches claimed with SKIP LOCKED, so overlaps are safe.
    "run-journeys": {
        "task": "journeys.tasks.run_journeys",
        "schedule": _JOURNEYS,
        "options": {"expires": max(_JOURNEYS - 1, 1.0)},
    },
    # The ledger's counters (campaigns/counters.py): one row per campaign and
    # status instead of one per writer connection that ever touched it.
    "fold-delivery-counters": {
        "task": "campaigns.tasks.fold_delivery_counters",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
    "enrol-inactive": {
        "task": "journeys.tasks.enrol_inactive",
        "schedule": 3600.0,
    },
}
# Finished campaigns' ledgers roll up into exact counts once they are older than
# TOCSIN_LEDGER_RETENTION_DAYS (campaigns/rollup/); a few times a day is plenty.
if int(getattr(settings, "TOCSIN_LEDGER_RETENTION_DAYS", 0) or 0) > 0:
    app.conf.beat_schedule["roll-up-delivery-ledger"] = {
        "task": "campaigns.tasks.rollup_ledger",
        "schedule": 6 * 3600.0,
        "options": {"expires": 3600},
    }
# Bounces returned to the VERP addresses of SMTP sends, read from a mailbox
# (campaigns/events/bounces/mailbox.py), when there is one.
if getattr(settings, "TOCSIN_BOUNCE_MAILBOX", ""):
    _BOUNCE_POLL = max(float(getattr(settings, "TOCSIN_BOUNCE_POLL_SECONDS", 300.0)), 10.0)
    app.conf.beat_schedule["poll-bounce-mailbox"] = {
        "task": "campaigns.tasks.poll_bounces",
        "schedule": _BOUNCE_POLL,
        "options": {"expires": _BOUNCE_POLL},
    }
# Send batches are routed per call (urgent for alerts, bulk otherwise);
# these defaults cover the engine's housekeeping.
app.conf.task_routes = {
    "outbox.tasks.relay_outbox": {"queue": "default"},
    "integrations.tasks.sweep_webhooks": {"queue": "default"},
    "integrations.tasks.deliver_webhook": {"queue": "default"},
    "integrations.tasks.tell_staff_endpoint_disabled": {"queue": "default"},
    "integrations.tasks.purge_webhook_deliveries": {"queue": "default"},
    "campaigns.tasks.sweep_sending": {"queue": "default"},
    "campaigns.tasks.start_due_campaigns": {"queue": "default"},
    "campaigns.tasks.poll_bounces": {"queue": "default"},
    "campaigns.tasks.rollup_ledger": {"queue": "default"},
    "campaigns.tasks.fold_delivery_counters": {"queue": "default"},
    "campaigns.tasks.prepare_campaign": {"queue": "bulk"},
    "campaigns.tasks.send_batch": {"queue": "bulk"},
    "actions.tasks.*": {"queue": "default"},
    "journeys.tasks.run_journeys": {"queue": "default"},
    "journeys.tasks.enrol_inactive": {"queue": "default"},
}
app.autodiscover_tasks()


class Heartbeat(bootsteps.StartStopStep):
    """Every worker writes "alive" to Redis every few seconds, for ``/readyz`` (config/health.py)."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.tref: Any = None

    def start(self, worker: Any) -> None:
        from config import health

        beat = partial(health.record_heartbeat, worker.hostname)
        beat()
        self.tref = worker.timer.call_repeatedly(health.HEARTBEAT_SECONDS, beat)

    def stop(self, worker: Any) -> None:
        from config import health

        if self.tref is not None:
            self.tref.cancel()
            self.tref = None
        health.forget_worker(worker.hostname)


app.steps["worker"].add(Heartbeat)


# The environment, not settings: this module is imported while settings load (config/__init__.py).
if observability.log_format(os.environ.get("LOG_FORMAT", "")) == "json":
    # At once, before Celery warns about anything (running as root, say):
    # warnings become log records, and every record a JSON line.
    logging.config.dictConfig(
        observability.logging_config(log_format="json", level=os.environ.get("LOG_LEVEL", "INFO"))
    )
    logging.captureWarnings(True)

    @signals.setup_logging.connect
    def _django_logging(**kwargs: Any) -> None:
        """A receiver here stops Celery from installing its own plain-text handlers: Django's JSON ones stay."""
        logging.config.dictConfig(settings.LOGGING)


# --- metrics: how long each send batch takes, per queue (config/histograms.py) -------
_BATCH_TASK = "campaigns.tasks.send_batch"
_batch_started: dict[str, float] = {}


@signals.task_prerun.connect
def _batch_starts(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    if getattr(task, "name", "") == _BATCH_TASK:
        _batch_started[task_id] = time.monotonic()


@signals.task_postrun.connect
def _batch_ends(task_id: str = "", task: Any = None, **kwargs: Any) -> None:
    started = _batch_started.pop(task_id, None)
    if started is None:
        return
    from config import histograms

    queue = (getattr(task.request, "delivery_info", None) or {}).get("routing_key") or "unknown"
    histograms.BATCH_SECONDS.observe(time.monotonic() - started, queue=str(queue))
