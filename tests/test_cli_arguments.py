"""Management command arguments obey subscribers/text.py: a clear CommandError, never a traceback."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command, get_commands, load_command_class

from subscribers.management.base import TocsinCommand
from subscribers.models import MailingList

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "slug", ["peru\x1b[2J", "peru\nnews", "pe\udcffru", "peru\x00"], ids=["escape", "newline", "not-utf8", "nul"]
)
def test_a_control_character_in_an_argument_is_a_command_error(tmp_path, slug):
    path = tmp_path / "people.csv"
    path.write_text("email\nana@example.org\n", encoding="utf-8")

    with pytest.raises(CommandError) as refused:
        call_command("import_subscribers", str(path), "--list", slug, stdout=io.StringIO(), stderr=io.StringIO())

    assert str(refused.value).startswith("list_slug: ")
    assert not MailingList.objects.exists()


def test_a_bad_user_name_for_a_token_is_a_command_error():
    with pytest.raises(CommandError, match=r"^user: Must not contain NUL"):
        call_command("create_api_token", "--user", "ada\x00", stdout=io.StringIO())


def test_bytes_that_are_not_utf8_on_the_command_line_give_one_line_not_a_traceback(tmp_path):
    completed = subprocess.run(
        [os.fsencode(sys.executable), b"manage.py", b"create_api_token", b"--user", b"ad\xffa"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        env={
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
            "CACHE_URL": "locmem://",
            "TOCSIN_VAR_DIR": str(tmp_path),
        },
        check=False,
    )

    assert completed.returncode == 1
    assert b"Traceback" not in completed.stderr
    assert b"CommandError: user: Contains an invalid character" in completed.stderr


def test_every_tocsin_command_checks_its_arguments():
    # Every app of this repository, not the installed packages'.
    ours = {app.name for app in apps.get_app_configs() if ".venv" not in app.path and "site-packages" not in app.path}
    ours = {name for name in ours if (settings.BASE_DIR / name.split(".")[0]).is_dir()}
    commands = {name: app for name, app in get_commands().items() if app in ours}

    assert commands, "no management commands found"
    for name, app in commands.items():
        assert isinstance(load_command_class(app, name), TocsinCommand), name
