"""The test suite's settings: Tocsin's own, with fixed test-only secrets.

Without SECRET_KEY and WEBHOOK_SECRET, settings make (or read) the
installation's secrets under var/ (config/installation.py): the suite must
neither depend on nor write the developer's var/. Set in the environment, so
the processes tests start (a Celery worker, manage.py) sign with the same key.
"""

import os

os.environ.setdefault("SECRET_KEY", "tocsin-test-suite-only-" + "k" * 40)
os.environ.setdefault("WEBHOOK_SECRET", "tests:test-suite-webhook-secret")

from config.settings import *  # noqa: F403
