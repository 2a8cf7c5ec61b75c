"""The name people see in their inbox is the organisation's, unless the operator gives another."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import with_display_name

ROOT = Path(__file__).resolve().parent.parent

SEND_ONE = (
    "import django; django.setup(); from django.core.mail import EmailMessage; "
    "print(EmailMessage('Hello', 'Body', to=['ana@example.org']).message()['From'])"
)


def from_header(tmp_path: Path, **env: str) -> tuple[str, str]:
    environ = {k: v for k, v in os.environ.items() if k not in {"DEFAULT_FROM_EMAIL", "TOCSIN_ORG_NAME"}}
    result = subprocess.run(
        [sys.executable, "-c", SEND_ONE],
        cwd=ROOT,
        env={**environ, "DJANGO_SETTINGS_MODULE": "config.settings", "TOCSIN_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    header = result.stdout.strip().splitlines()[-1]
    parsed = email.message_from_string(f"From: {header}\n\nx", policy=email.policy.default)
    [address] = parsed["From"].addresses
    return address.display_name, address.addr_spec


def test_emails_come_from_the_organisation_by_default(tmp_path):
    assert from_header(tmp_path, TOCSIN_ORG_NAME="Red de Alerta, Perú") == (
        "Red de Alerta, Perú",
        "bulletin@tocsin.example.org",
    )


def test_a_bare_sender_address_gets_the_organisations_name(tmp_path):
    assert from_header(tmp_path, TOCSIN_ORG_NAME="Red de Alerta", DEFAULT_FROM_EMAIL="news@alerta.example") == (
        "Red de Alerta",
        "news@alerta.example",
    )


def test_a_sender_name_set_by_the_operator_wins(tmp_path):
    assert from_header(
        tmp_path, TOCSIN_ORG_NAME="Red de Alerta", DEFAULT_FROM_EMAIL="Boletín Andino <news@alerta.example>"
    ) == ("Boletín Andino", "news@alerta.example")


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ('The "Andes" Network', '"The \\"Andes\\" Network" <a@example.org>'),
        ("Red\r\nBcc: x@evil.example", '"Red Bcc: x@evil.example" <a@example.org>'),
        ("", "a@example.org"),
    ],
)
def test_the_organisations_name_is_quoted_and_kept_on_one_line(name, header):
    assert with_display_name("a@example.org", name) == header
