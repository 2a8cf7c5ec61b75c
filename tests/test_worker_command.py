"""`make worker` (scripts/worker.py): what it starts, and what it refuses to start with.

The two-machine send itself is tests/e2e/test_machines_e2e.py; here, the
choices made before any worker runs, each checked on the real script.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import worker  # noqa: E402


def make_worker(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("EMAIL_URL", "ESP", "SECRET_KEY", "QUEUES", "DATABASE_URL", "REDIS_URL")
    }
    environment.update(TOCSIN_VAR_DIR=str(tmp_path / "var"), DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    environment.update(env)
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "worker.py")],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


KEY = "k" * 50


def test_it_refuses_to_start_without_a_mail_server_or_provider(tmp_path):
    result = make_worker(tmp_path, SECRET_KEY=KEY)

    assert result.returncode == 2
    assert "not starting: set EMAIL_URL (smtp://host:port) or ESP" in result.stdout


def test_it_refuses_a_secret_key_of_its_own_since_it_would_break_every_unsubscribe_link(tmp_path):
    result = make_worker(tmp_path, EMAIL_URL="smtp://127.0.0.1:2525")

    assert result.returncode == 2
    assert "set SECRET_KEY to the web machine's key" in result.stdout
    assert not (tmp_path / "var" / "secret-key.txt").exists()


def test_it_refuses_unknown_queues(tmp_path):
    result = make_worker(tmp_path, SECRET_KEY=KEY, EMAIL_URL="smtp://127.0.0.1:2525", QUEUES="urgent,bulky")

    assert result.returncode == 2
    assert "QUEUES='urgent,bulky': name one or more of urgent, default, bulk" in result.stdout


def test_it_refuses_a_database_without_the_migrations_this_code_needs(tmp_path):
    result = make_worker(tmp_path, SECRET_KEY=KEY, EMAIL_URL="smtp://127.0.0.1:2525")

    assert result.returncode == 1
    assert "lacks migrations this code needs (run `manage.py migrate` where the web runs)" in result.stdout
    assert "Worker:" not in result.stdout  # no worker was started


@pytest.mark.parametrize(
    ("queues", "expected"),
    [
        ("", [("worker", ("default", "bulk")), ("urgent", ("urgent",))]),
        ("urgent", [("urgent", ("urgent",))]),
        ("bulk", [("worker", ("bulk",))]),
        # An alert must never wait behind a bulletin's batches: urgent keeps a worker of its own.
        ("bulk, urgent,default", [("worker", ("bulk", "default")), ("urgent", ("urgent",))]),
    ],
)
def test_urgent_always_gets_a_worker_of_its_own(queues, expected):
    specs = worker.worker_specs({}, queues=worker.parse_queues(queues or "urgent,default,bulk"), tag=4242)

    assert [(spec.name, spec.queues) for spec in specs] == expected
    # Host name (filled in by Celery) and process id: two machines, or two runs on one, never clash.
    assert all(spec.node.endswith("-4242@%h") for spec in specs)


def test_make_worker_runs_the_script():
    dry_run = subprocess.run(["make", "-n", "worker"], cwd=ROOT, capture_output=True, text=True, check=True)

    assert "scripts/worker.py" in dry_run.stdout
