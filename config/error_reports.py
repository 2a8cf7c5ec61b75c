"""Django's debug page and error reports, without the passwords inside URLs.

`make run` runs with DEBUG on, so an exception shows Django's debug page with
every setting, the request's environment and each frame's local variables.
Django hides settings whose *names* look secret (KEY, PASS, TOKEN…), but
``DATABASE_URL``, ``REDIS_URL``, ``CACHES``' location, ``CELERY_BROKER_URL``
and ``EMAIL_URL`` carry their password inside the value, and the dev server
copies the whole process environment into ``request.META``. Here every
``scheme://user:password@`` and libpq ``password=…`` in those values is
starred, wherever it appears.
"""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

SUBSTITUTE = SafeExceptionReporterFilter.cleansed_substitute
_URL_PASSWORD = re.compile(r"(?P<keep>\b[a-z][a-z0-9+.-]*://[^:/?#@\s]*:)[^@\s]+(?=@)", re.IGNORECASE)
_DSN_PASSWORD = re.compile(r"(?P<keep>\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s']+)", re.IGNORECASE)
# Frame variables can be anything: look this deep into containers, no deeper.
_MAX_DEPTH = 4


def redact(text: str) -> str:
    text = _URL_PASSWORD.sub(lambda match: match["keep"] + SUBSTITUTE, text)
    return _DSN_PASSWORD.sub(lambda match: match["keep"] + SUBSTITUTE, text)


class RedactingExceptionReporterFilter(SafeExceptionReporterFilter):
    def cleanse_setting(self, key: Any, value: Any) -> Any:
        # Django's version recurses through this method, so nested values
        # (CACHES["default"]["LOCATION"]) come through here too.
        if type(value) is str:  # lazy strings (translations, CSP nonces) hold no URL
            value = redact(value)
        return super().cleanse_setting(key, value)

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self._scrub(name, value, 0)) for name, value in variables]

    def _scrub(self, name: Any, value: Any, depth: int) -> Any:
        if isinstance(name, str) and name and self.hidden_settings.search(name):
            return SUBSTITUTE
        if type(value) is str:  # lazy strings (translations, CSP nonces) hold no URL
            return redact(value)
        if depth >= _MAX_DEPTH:
            return value
        if isinstance(value, dict):
            return {key: self._scrub(key, item, depth + 1) for key, item in value.items()}
        if type(value) in (list, tuple):
            return type(value)(self._scrub("", item, depth + 1) for item in value)
        return value


class RedactingExceptionReporter(ExceptionReporter):
    """Exception messages and printed objects too: a connection error may quote the URL it was given."""

    def get_traceback_data(self) -> dict[str, Any]:
        data = super().get_traceback_data()
        if data.get("exception_value") is not None:
            data["exception_value"] = redact(str(data["exception_value"]))
        for frame in data.get("frames", []):
            if frame.get("exc_cause") is not None:
                frame["exc_cause"] = redact(str(frame["exc_cause"]))
            # By now each variable is its printed form: objects' reprs (an
            # exception, a connection) are caught here.
            frame["vars"] = [(name, redact(printed)) for name, printed in frame.get("vars", [])]
        return data
