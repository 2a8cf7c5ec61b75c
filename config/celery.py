"""The Celery app: queues, routing and the beat schedule.

Urgent alerts get a queue of their own because kombu's Redis transport reads
queues in turn, not by priority: `make run` starts one worker that serves only
``urgent`` so an alert never waits behind a bulletin's batches.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tocsin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (
    Queue("urgent"),
    Queue("default"),
    Queue("bulk"),
)
app.conf.task_default_queue = "default"
app.conf.beat_schedule = {
    "purge-unconfirmed-signups": {
        "task": "subscribers.tasks.purge_unconfirmed",
        "schedule": 3600.0,
    },
}
app.autodiscover_tasks()
