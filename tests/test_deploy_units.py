"""The systemd units under deploy/: valid for systemd, restarting, stopping gracefully, urgent alone.

``systemd-analyze verify`` reads each unit as systemd would (unknown keys,
bad values, an ExecStart that is not executable), on a copy whose
/opt/tocsin paths point at this checkout and its .venv.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNITS = sorted((ROOT / "deploy").glob("*.service"))


def read(unit: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(unit.read_text().replace("\\\n", " "))
    return parser


def test_there_is_a_unit_for_web_worker_urgent_worker_and_beat():
    assert [unit.name for unit in UNITS] == [
        "tocsin-beat.service",
        "tocsin-urgent.service",
        "tocsin-web.service",
        "tocsin-worker.service",
    ]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (systemd)")
def test_systemd_accepts_every_unit(tmp_path):
    (tmp_path / "tocsin.env").write_text("DEBUG=0\n")
    for unit in UNITS:
        text = (
            unit.read_text()
            .replace("/opt/tocsin", str(ROOT))
            .replace("/etc/tocsin/tocsin.env", str(tmp_path / "tocsin.env"))
        )
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / unit.name) for unit in UNITS)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout == ""


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
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
