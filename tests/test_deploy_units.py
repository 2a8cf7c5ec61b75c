"""The systemd units under deploy/: valid for systemd, restarting, stopping gracefully, urgent alone, backed up.

``systemd-analyze verify`` reads each unit as systemd would (unknown keys,
bad values, an ExecStart that is not executable), on a copy whose
/opt/tocsin paths point at this checkout and its .venv.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNITS = sorted((ROOT / "deploy").glob("*.service"))
TIMERS = sorted((ROOT / "deploy").glob("*.timer"))
BACKUP = ROOT / "deploy" / "tocsin-backup.service"
# The processes that run all the time; the backup is a oneshot started by its timer.
LONG_RUNNING = [unit for unit in UNITS if unit != BACKUP]


def read(unit: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(unit.read_text().replace("\\\n", " "))
    return parser


def test_there_is_a_unit_for_web_worker_urgent_worker_and_beat_and_a_nightly_backup():
    assert [unit.name for unit in UNITS] == [
        "tocsin-backup.service",
        "tocsin-beat.service",
        "tocsin-urgent.service",
        "tocsin-web.service",
        "tocsin-worker.service",
    ]
    assert [timer.name for timer in TIMERS] == ["tocsin-backup.timer"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (systemd)")
def test_systemd_accepts_every_unit(tmp_path):
    (tmp_path / "tocsin.env").write_text("DEBUG=0\n")
    for unit in [*UNITS, *TIMERS]:
        text = (
            unit.read_text()
            .replace("/opt/tocsin", str(ROOT))
            .replace("/etc/tocsin/tocsin.env", str(tmp_path / "tocsin.env"))
        )
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / unit.name) for unit in [*UNITS, *TIMERS])],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout == ""


@pytest.mark.parametrize("unit", LONG_RUNNING, ids=lambda unit: unit.name)
def test_each_unit_restarts_and_stops_gracefully(unit):
    service = read(unit)["Service"]
    assert service["Restart"] == "always"
    assert service["KillSignal"] == "SIGTERM"  # gunicorn's graceful stop, Celery's warm shutdown, beat's lock release
    assert int(service["TimeoutStopSec"]) >= 15
    assert service["User"] == "tocsin"


def test_urgent_alerts_have_a_worker_of_their_own():
    urgent = read(ROOT / "deploy" / "tocsin-urgent.service")["Service"]["ExecStart"].split()
    bulk = read(ROOT / "deploy" / "tocsin-worker.service")["Service"]["ExecStart"].split()

    assert urgent[urgent.index("-Q") + 1] == "urgent"
    assert bulk[bulk.index("-Q") + 1] == "default,bulk"
    # Host names in node names: machines never clash (systemd fills in %H).
    assert urgent[urgent.index("-n") + 1] == "urgent@%H"


def test_the_backup_runs_nightly_as_tocsin_with_the_same_settings_file():
    service = read(BACKUP)["Service"]
    assert service["Type"] == "oneshot"
    assert service["User"] == "tocsin"
    assert service["EnvironmentFile"] == read(ROOT / "deploy" / "tocsin-web.service")["Service"]["EnvironmentFile"]
    assert service["ExecStart"].split()[0] == "/opt/tocsin/deploy/tocsin-backup.sh"
    timer = read(ROOT / "deploy" / "tocsin-backup.timer")
    assert timer["Timer"]["OnCalendar"].startswith("*-*-* 0")  # at night
    assert timer["Timer"]["Persistent"] == "true"  # a machine off at that hour backs up when it starts
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_the_readme_documents_the_units_and_the_restore_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Backups and restoring") :]
    section = section[: section.index("\n### ", 1)]
    for needed in (
        "tocsin-backup.service",
        "tocsin-backup.timer",
        "systemctl enable --now tocsin-backup.timer",
        "pg_restore",
        "manage.py migrate",
        "manage.py restored_from_backup --dry-run",
        "manage.py restored_from_backup",
        "systemctl stop tocsin-worker tocsin-urgent",
        "systemctl stop tocsin-beat tocsin-web",
        "/etc/tocsin/tocsin.env",
    ):
        assert needed in section, needed
    # The order that keeps the promise: workers and beat stopped, restore, migrate, hold, then start.
    order = [
        section.index("systemctl stop tocsin-beat"),
        section.index("pg_restore"),
        section.index("manage.py migrate"),
        section.index("manage.py restored_from_backup --dry-run"),
        section.index("systemctl start tocsin-worker"),
    ]
    assert order == sorted(order)


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs pg_dump (postgresql-client)")
def test_the_backup_script_writes_a_dump_pg_restore_reads_and_deletes_old_ones(tmp_path, db):
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("a PostgreSQL database to dump")
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    old = tmp_path / "tocsin-20000101T000000Z.dump"
    old.write_bytes(b"old")
    past = time.time() - 40 * 86400
    os.utime(old, (past, past))
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": url,
        "PGPASSWORD": db.get("PASSWORD") or "",
        "TOCSIN_BACKUP_DIR": str(tmp_path),
        "TOCSIN_BACKUP_KEEP_DAYS": "14",
    }
    result = subprocess.run(
        [str(ROOT / "deploy" / "tocsin-backup.sh")], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    dumps = sorted(path.name for path in tmp_path.iterdir())
    assert len(dumps) == 1 and re.fullmatch(r"tocsin-\d{8}T\d{6}Z\.dump", dumps[0]), dumps
    listing = subprocess.run(
        ["pg_restore", "--list", str(tmp_path / dumps[0])], capture_output=True, text=True, check=True
    ).stdout
    assert "campaigns_delivery" in listing
