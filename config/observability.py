"""Logs and error reports: what an operator's tools read from every Tocsin process.

``LOG_FORMAT=json`` turns every log line of the web, the workers and beat
into one JSON object (python-json-logger), for a log shipper to parse; the
default stays the plain lines a person reads in a terminal. gunicorn's own
loggers follow through ``config/gunicorn.py``, Celery's through the
``setup_logging`` receiver in ``config/celery.py``.

``SENTRY_DSN`` sends unhandled exceptions of the web and the workers to
Sentry (sentry-sdk, with its Django and Celery integrations). Unset, nothing
is initialised and nothing leaves the machine. Reports carry no personal data
(``send_default_pii`` off: no addresses, cookies or request bodies), and the
passwords inside URLs (``DATABASE_URL``, ``REDIS_URL``…) are starred as on
Django's debug page (config/error_reports.py).
"""

from __future__ import annotations

from typing import Any

from config.env import ImproperlyConfiguredEnv

LOG_FORMATS = ("plain", "json")
_PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"
_RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}
# Sentry events are nested dicts and lists: look this deep for URLs, no deeper.
_MAX_DEPTH = 12


def log_format(raw: str) -> str:
    value = raw.strip().lower() or "plain"
    if value not in LOG_FORMATS:
        raise ImproperlyConfiguredEnv(f"LOG_FORMAT={raw!r}: use plain or json")
    return value


def formatter(fmt: str) -> dict[str, Any]:
    if fmt == "json":
        return {"()": "pythonjsonlogger.json.JsonFormatter", "fmt": _JSON_FIELDS, "rename_fields": _RENAMED}
    return {"format": _PLAIN}


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """Django's LOGGING: everything to standard error, in the chosen format."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter(log_format)},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "main"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }


def gunicorn_logging(*, log_format: str) -> dict[str, Any]:
    """gunicorn's logconfig_dict: its error and access logs as JSON lines on standard output."""
    json_lines = {"handlers": ["json"], "level": "INFO", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": formatter(log_format)},
        "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}},
        "root": {"handlers": ["json"], "level": "INFO"},
        "loggers": {"gunicorn.error": json_lines, "gunicorn.access": json_lines},
    }


def _scrub(value: Any, depth: int = 0) -> Any:
    from config.error_reports import redact

    if isinstance(value, str):
        return redact(value)
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {key: _scrub(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, depth + 1) for item in value]
    return value


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """An exception message or a frame's variable may quote a URL with its password in it."""
    scrubbed: dict[str, Any] = _scrub(event)
    return scrubbed


def init_sentry(*, dsn: str, environment: str) -> bool:
    """Error reports to Sentry when ``dsn`` is set; True when they are on."""
    if not dsn.strip():
        return False
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn.strip(),
        environment=environment,
        send_default_pii=False,
        before_send=before_send,  # type: ignore[arg-type]
    )
    return True
