"""LOG_FORMAT=json: a Celery worker started as the systemd unit starts it writes JSON lines.

One exception, Celery's own: the "worker: Warm shutdown" notice is written
raw from inside its signal handler (where logging is not safe), as plain text.
"""

from __future__ import annotations

import json
import sys

import pytest

from tests.support.workers import spawn, worker_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_worker_with_log_format_json_writes_only_json_lines(smtp_server):
    worker = spawn(
        [sys.executable, "-m", "celery", "-A", "config", "--quiet", "worker", "-Q", "urgent",
         "-c", "1", "-n", "json-logs@%h", "--loglevel", "INFO"],
        worker_env(smtp_server.url, LOG_FORMAT="json"),
    )  # fmt: skip
    try:
        worker.wait_ready()
    finally:
        worker.stop()

    text = [line for line in worker.output if line.strip()]
    assert [line for line in text if not line.startswith("{")] == ["worker: Warm shutdown (MainProcess)"]
    lines = [json.loads(line) for line in text if line.startswith("{")]
    assert any(line["message"].endswith("ready.") and line["level"] == "INFO" for line in lines), worker.log
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
