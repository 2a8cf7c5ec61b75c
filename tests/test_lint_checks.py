"""`make lint`'s own checks fail on what they promise to catch (and only on that)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scripts import check_private_imports, check_sizes, check_test_imports

ROOT = Path(__file__).resolve().parent.parent


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def function_of(lines: int, name: str = "long") -> str:
    return f"def {name}():\n" + "    x = 1\n" * (lines - 1)


def test_a_module_over_400_lines_fails_and_400_passes(tmp_path):
    write(tmp_path, "subscribers/fine.py", "x = 1\n" * 400)
    write(tmp_path, "campaigns/long.py", "x = 1\n" * 401)

    assert check_sizes.problems(tmp_path, {}) == ["campaigns/long.py: 401 lines (at most 400)"]


def test_a_function_over_80_lines_fails_and_80_passes(tmp_path):
    write(tmp_path, "donations/services.py", function_of(80, "fine") + function_of(81, "too_long"))

    assert check_sizes.problems(tmp_path, {}) == ["donations/services.py:81: too_long() is 81 lines (at most 80)"]


def test_migrations_and_settings_are_not_measured(tmp_path):
    write(tmp_path, "campaigns/migrations/0001_initial.py", "x = 1\n" * 900)
    write(tmp_path, "config/settings.py", "x = 1\n" * 900)

    assert check_sizes.problems(tmp_path, {}) == []


def test_an_allowed_module_passes_until_it_is_split_then_its_entry_must_go(tmp_path):
    write(tmp_path, "actions/views.py", "x = 1\n" * 500)
    allowed = {"actions/views.py": "being split", "actions/views.py::view": "being split"}

    assert check_sizes.problems(tmp_path, allowed) == [
        "actions/views.py::view: within the limits now, remove it from ALLOWED in scripts/check_sizes.py"
    ]


def test_importing_another_modules_private_name_fails(tmp_path):
    write(tmp_path, "subscribers/forms.py", "_Field = object\n")
    write(tmp_path, "actions/forms.py", "from subscribers.forms import HONEYPOT, _Field as Line\n")

    assert check_private_imports.problems(tmp_path, {}) == ["actions/forms.py:1: imports the private name _Field"]


def test_a_relative_import_of_a_private_name_fails_too(tmp_path):
    write(tmp_path, "campaigns/sending/__init__.py", "")
    write(tmp_path, "campaigns/sending/provider_batch.py", "from .engine import _Batch\n")

    assert check_private_imports.problems(tmp_path, {}) == [
        "campaigns/sending/provider_batch.py:1: imports the private name _Batch"
    ]


def test_a_private_module_is_only_for_its_own_package(tmp_path):
    write(tmp_path, "campaigns/sending/__init__.py", "")
    write(tmp_path, "campaigns/sending/engine.py", "from campaigns.sending import _shared\n")
    write(tmp_path, "donations/reports.py", "from campaigns.sending._shared import rate\nimport campaigns._internal\n")

    assert check_private_imports.problems(tmp_path, {}) == [
        "donations/reports.py:1: imports the private name _shared",
        "donations/reports.py:2: imports the private name _internal",
    ]


def test_gettext_dunders_and_public_names_pass(tmp_path):
    write(
        tmp_path,
        "config/views.py",
        "from django.utils.translation import gettext_lazy as _\nfrom x import __version__, public\nimport os\n",
    )

    assert check_private_imports.problems(tmp_path, {}) == []


def test_a_test_module_importing_another_test_module_fails(tmp_path):
    write(tmp_path, "tests/__init__.py", "")
    write(tmp_path, "tests/campaigns/__init__.py", "")
    write(tmp_path, "tests/campaigns/test_admin.py", "def form_data(): ...\n")
    write(
        tmp_path,
        "tests/campaigns/test_drafts.py",
        "from tests.campaigns.test_admin import form_data\n"
        "from .test_admin import form_data as again\n"
        "import tests.campaigns.conftest\n"
        "from tests.campaigns import test_admin\n"
        'BACKEND = "tests.campaigns.test_admin.FailingBackend"\n',
    )

    assert check_test_imports.problems(tmp_path) == [
        "tests/campaigns/test_drafts.py:1: imports the test module tests.campaigns.test_admin",
        "tests/campaigns/test_drafts.py:2: imports the test module tests.campaigns.test_admin",
        "tests/campaigns/test_drafts.py:3: imports the test module tests.campaigns.conftest",
        "tests/campaigns/test_drafts.py:4: imports the test module tests.campaigns",
        "tests/campaigns/test_drafts.py:5: imports the test module tests.campaigns.test_admin.FailingBackend",
    ]


def test_tests_import_the_support_package_settings_and_themselves_freely(tmp_path):
    write(tmp_path, "tests/__init__.py", "")
    write(
        tmp_path,
        "tests/e2e/test_send.py",
        "from tests.support.smtp import serving\nfrom tests import support\nimport tests.settings\n"
        'BACKEND = "tests.support.mail_backends.FailingBackend"\nURLS = "tests.e2e.test_send"\nKEY = "tests.note"\n'
        "from campaigns.tests import x\n",
    )
    write(tmp_path, "tests/support/factories/__init__.py", "from .subscribers import make_list\n")

    assert check_test_imports.problems(tmp_path) == []


def test_the_repository_passes_the_checks():
    for script in ("scripts/check_sizes.py", "scripts/check_private_imports.py", "scripts/check_test_imports.py"):
        run = subprocess.run([sys.executable, script], cwd=ROOT, capture_output=True, text=True, check=False)
        assert run.returncode == 0, run.stdout
