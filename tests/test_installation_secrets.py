"""Each installation signs with a key of its own, made once under var/ and shared by all its processes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

READ_SECRETS = (
    "import json; from django.conf import settings; "
    "print(json.dumps([settings.SECRET_KEY, settings.WEBHOOK_SECRET, settings.ANYMAIL.get('WEBHOOK_SECRET')]))"
)


def fresh_env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "WEBHOOK_SECRET", "DEBUG"}}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "TOCSIN_VAR_DIR": str(var_dir), **extra})
    return env


def start(var_dir: Path, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", READ_SECRETS],
        cwd=ROOT,
        env=fresh_env(var_dir, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def secrets_of(process: subprocess.Popen[str]) -> tuple[str, str, str]:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    key, webhook, anymail = json.loads(out)
    return key, webhook, anymail


def test_two_installations_sign_with_different_keys_and_each_keeps_its_own(tmp_path):
    first = secrets_of(start(tmp_path / "one"))
    second = secrets_of(start(tmp_path / "two"))
    assert first[0] != second[0]
    assert first[1] != second[1]
    assert len(first[0]) >= 50
    # The next start of the same installation (web, worker, manage.py…) reads the same secrets.
    assert secrets_of(start(tmp_path / "one")) == first
    for name in ("secret-key.txt", "webhook-secret.txt"):
        assert stat.S_IMODE((tmp_path / "one" / name).stat().st_mode) == 0o600


def test_processes_starting_together_all_get_the_same_key(tmp_path):
    processes = [start(tmp_path / "var") for _ in range(8)]
    results = {secrets_of(process) for process in processes}
    assert len(results) == 1
    assert sorted(path.name for path in (tmp_path / "var").iterdir()) == ["secret-key.txt", "webhook-secret.txt"]


def test_anymail_webhooks_are_guarded_by_the_installation_s_secret(tmp_path):
    _key, webhook, anymail = secrets_of(start(tmp_path / "var"))
    user, _, password = webhook.partition(":")
    assert user and len(password) >= 24
    assert anymail == webhook


def test_the_environment_wins_over_the_files(tmp_path):
    key, webhook, _ = secrets_of(
        start(tmp_path / "var", SECRET_KEY="from-the-environment-" + "x" * 40, WEBHOOK_SECRET="ops:pass")
    )
    assert (key, webhook) == ("from-the-environment-" + "x" * 40, "ops:pass")
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize("missing", ["SECRET_KEY", "WEBHOOK_SECRET"])
def test_production_never_makes_its_own_secrets(tmp_path, missing):
    env = {"DEBUG": "0", "SECRET_KEY": "p" * 50, "WEBHOOK_SECRET": "ops:pass", missing: ""}
    process = start(tmp_path / "var", **env)
    _out, err = process.communicate(timeout=60)
    assert process.returncode != 0
    assert f"{missing} " in err and "must be set when DEBUG is off" in err
    assert not (tmp_path / "var").exists()
