from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _in_process_tasks():
    """Confirmation and welcome emails run in-process at commit; tests/e2e/ runs the real queue."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False
