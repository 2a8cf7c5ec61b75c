"""Shared fixtures and the rule that CI never skips.

Tests that need PostgreSQL or Redis skip with a reason on a machine that has
neither; under CI=true any skip fails the run, so CI always runs everything.
"""

from __future__ import annotations

import os

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import translation

from tests.support.outages import own_redis

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def redis_available(url: str | None = None) -> bool:
    try:
        client = redis.Redis.from_url(url or settings.REDIS_URL, socket_connect_timeout=0.5)
        return bool(client.ping())
    except redis.RedisError:
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    is_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    has_redis = None
    for item in items:
        if item.get_closest_marker("postgres") and not is_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://..."))
        if item.get_closest_marker("redis") or item.get_closest_marker("worker"):
            if has_redis is None:
                has_redis = redis_available()
            if not has_redis:
                item.add_marker(pytest.mark.skip(reason=f"needs Redis at {settings.REDIS_URL}"))
        if item.get_closest_marker("worker") and not is_postgres:
            # An in-memory SQLite test database is invisible to a worker subprocess.
            item.add_marker(pytest.mark.skip(reason="a real worker needs the PostgreSQL test database"))


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if IN_CI and _skipped and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    if IN_CI and _skipped:
        terminalreporter.write_line(
            f"CI=true: {len(_skipped)} skipped test(s) fail the run (CI must run everything):", red=True
        )
        for nodeid in _skipped:
            terminalreporter.write_line(f"  {nodeid}", red=True)


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _default_language():  # type: ignore[no-untyped-def]
    # A request through the test client leaves its language (Accept-Language,
    # the subscriber's own) active in the thread: without this, a test that
    # calls a service directly after a Spanish page would answer in Spanish.
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def db_vendor() -> str:
    return connection.vendor


@pytest.fixture(autouse=True)
def _outbox_fast_path_on():  # type: ignore[no-untyped-def]
    # After a broker error the outbox's after-commit hand-over pauses for a
    # few seconds in this process (outbox/relay.py); a test that stopped a
    # broker must not make the next test's email wait for a relay.
    from outbox import relay

    relay._quiet_until = 0.0


@pytest.fixture(autouse=True)
def _signup_fallback_counter_empty():  # type: ignore[no-untyped-def]
    # With Redis unreachable, sign-ups are counted in this process
    # (subscribers/ratelimit.py) for the rest of the hour: every outage test
    # signs up from 127.0.0.1, so without this the twentieth of the run is
    # refused with a 429 that has nothing to do with it.
    from subscribers import ratelimit

    ratelimit._fallback.clear()


# --- Personas' API tokens (tests/support/personas.py) -------------------------------


@pytest.fixture
def writer_token(db: None) -> str:
    from tests.support.personas import token_for, writer

    return token_for(writer())


@pytest.fixture
def sender_token(db: None) -> str:
    from tests.support.personas import sender, token_for

    return token_for(sender())


@pytest.fixture
def admin_token(db: None) -> str:
    from tests.support.personas import admin, token_for

    return token_for(admin())


@pytest.fixture
def own_broker(tmp_path, settings):  # type: ignore[no-untyped-def]
    """A redis-server of the test's own as the broker settings name (/readyz, the dashboard), stoppable."""
    with own_redis(tmp_path / "redis") as server:
        settings.CELERY_BROKER_URL = server.url
        yield server


@pytest.fixture(scope="session")
def compiled_catalogs() -> None:
    """The .mo files, built when a run starts without them (they are git-ignored; `make messages` builds them)."""
    from tests.support.translations import compile_catalogs

    compile_catalogs()
