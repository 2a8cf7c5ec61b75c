"""The compiled catalogues (.mo) the translation tests read.

The .mo files are git-ignored and built by `make messages`; the session
fixture ``compiled_catalogs`` (tests/conftest.py) builds them when a test run
starts without them, so these tests pass in a fresh clone too.
"""

from __future__ import annotations

import pytest
from django.utils.translation.reloader import translation_file_changed

from scripts import compile_messages
from tests.support import ROOT

LOCALE = ROOT / "locale"


def compile_catalogs() -> None:
    if compile_messages.main() != 0:
        pytest.fail("the .po files could not be compiled")
    # Django caches catalogs per process; a test that ran before the .mo
    # existed would otherwise leave this process on the English fallback.
    translation_file_changed(sender=None, file_path=LOCALE / "es" / "LC_MESSAGES" / "django.mo")
