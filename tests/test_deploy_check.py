"""`manage.py check --deploy` with production settings must print no warnings."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "a8Z!kq2#Lm9@xV4$wT7^pR1&nB6*cY3(hJ0)eG5-uF8+dS2=Qw7zR4tY9uI0oP",
    "WEBHOOK_SECRET": "anymail:7c1f0e8d9b2a4c6e",
    "SITE_URL": "https://news.example.org",
    "ALLOWED_HOSTS": "news.example.org",
    "CACHE_URL": "locmem://",
}


def run_manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, "TOCSIN_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_webhook_secret(tmp_path):
    env = {**PRODUCTION_ENV, "WEBHOOK_SECRET": ""}
    result = run_manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "WEBHOOK_SECRET" in result.stderr


def test_production_refuses_the_development_secret_key(tmp_path):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = run_manage("check", env={**env, "SECRET_KEY": ""}, tmp_path=tmp_path)
    assert result.returncode != 0
