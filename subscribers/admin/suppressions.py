"""The "Import suppressions" page: a dry-run preview first, then "Confirm import".

The same reading and applying as ``manage.py import_suppressions``
(subscribers/importing/). Between the preview and the confirmation the
uploaded file waits in a private temporary folder, named by a random token
and the staff member's id, so the file confirmed is the file previewed and
nobody else can confirm it; one never confirmed is deleted after a day. The
confirmed import is written to the audit log.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _

from subscribers.importing.suppressing import SuppressionResult, apply_suppressions
from subscribers.importing.suppression_file import REASONS, SuppressionFileError, read_suppressions
from subscribers.signals import log_staff_action
from subscribers.text import text_problem

PERMISSION = "subscribers.add_suppression"
MAX_UPLOAD = 20 * 1024 * 1024
SHOWN_ROWS = 200
KEEP_PREVIEW_SECONDS = 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,40}")
SAMPLE = (
    "email,reason,date\n"
    "left.long.ago@example.org,unsubscribed,2024-01-31\n"
    "no.such.mailbox@example.org,bounced,2024-02-15\n"
    "pressed.spam@example.org,complained,2024-03-01T09:30:00+00:00\n"
)


def _reason_choices() -> list[tuple[str, Any]]:
    return [("", _("As the file says")), *((reason.value, reason.label) for reason in REASONS)]


class SuppressionImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    reason = forms.ChoiceField(
        label=_("Reason"),
        required=False,
        choices=_reason_choices,
        help_text=_("For rows without a reason. Mailchimp's exports need none: the file says."),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError(_("The file is larger than 20 MB: split it."))
        return upload


class ConfirmForm(forms.Form):
    token = forms.RegexField(regex=_TOKEN, widget=forms.HiddenInput)
    reason = forms.ChoiceField(required=False, choices=_reason_choices, widget=forms.HiddenInput)
    filename = forms.CharField(max_length=100, widget=forms.HiddenInput)

    def clean_filename(self) -> str:
        return _safe_name(self.cleaned_data["filename"])


def _safe_name(name: str) -> str:
    name = Path(name or "").name[:100]
    return name if name and not text_problem(name, single_line=True) else "upload.csv"


def kept_folder() -> Path:
    folder = Path(tempfile.gettempdir()) / "tocsin-suppression-imports"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _kept(request: HttpRequest, token: str) -> Path:
    return kept_folder() / f"{request.user.pk}-{token}.csv"


def _forget_old_previews() -> None:
    """Files previewed and never confirmed: gone after a day (they hold addresses)."""
    cutoff = time.time() - KEEP_PREVIEW_SECONDS
    for old in kept_folder().glob("*.csv"):
        with contextlib.suppress(OSError):  # another request removed it first
            if old.stat().st_mtime < cutoff:
                old.unlink()


class SuppressionImportMixin:
    """Adds the page to the subscribers' admin (there is no suppression admin to hang it on)."""

    admin_site: admin.AdminSite
    model: Any

    def has_suppression_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PERMISSION)

    def suppression_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "import-suppressions/",
                view(self.import_suppressions_view),
                name="subscribers_subscriber_import_suppressions",
            ),
            path(
                "import-suppressions/sample.csv",
                view(self.suppressions_sample),
                name="subscribers_subscriber_import_suppressions_sample",
            ),
        ]

    def suppressions_sample(self, request: HttpRequest) -> HttpResponse:
        if not self.has_suppression_import_permission(request):
            raise PermissionDenied
        response = HttpResponse(SAMPLE, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="suppressions-sample.csv"'
        return response

    def import_suppressions_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_suppression_import_permission(request):
            raise PermissionDenied
        context: dict[str, Any] = {"form": SuppressionImportForm()}
        if request.method == "POST" and "token" in request.POST:
            context.update(self._confirm(request))
        elif request.method == "POST":
            context.update(self._preview(request))
        return TemplateResponse(
            request,
            "admin/subscribers/subscriber/import_suppressions.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Import suppressions"),
                "opts": self.model._meta,
                "changelist_url": reverse("admin:subscribers_subscriber_changelist"),
                "sample_url": reverse("admin:subscribers_subscriber_import_suppressions_sample"),
                "shown_rows": SHOWN_ROWS,
                **context,
            },
        )

    def _preview(self, request: HttpRequest) -> dict[str, Any]:
        form = SuppressionImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return {"form": form}
        upload = form.cleaned_data["file"]
        data = upload.read()
        reason = form.cleaned_data["reason"] or None
        try:
            parsed = read_suppressions(data, reason=reason)
        except SuppressionFileError as bad:
            form.add_error("file", str(bad))
            return {"form": form}
        result = apply_suppressions(parsed, filename=_safe_name(upload.name), dry_run=True)
        _forget_old_previews()
        token = secrets.token_urlsafe(24)
        _kept(request, token).write_bytes(data)
        confirm = ConfirmForm(initial={"token": token, "reason": reason or "", "filename": _safe_name(upload.name)})
        return {"form": form, "preview": result, "confirm": confirm, **_shown(result)}

    def _confirm(self, request: HttpRequest) -> dict[str, Any]:
        confirm = ConfirmForm(request.POST)
        kept = _kept(request, confirm.data.get("token", "")) if confirm.is_valid() else None
        if kept is None or not kept.is_file():
            return {"expired": True}
        filename = confirm.cleaned_data["filename"]
        try:
            parsed = read_suppressions(kept.read_bytes(), reason=confirm.cleaned_data["reason"] or None)
        except SuppressionFileError:
            return {"expired": True}
        with transaction.atomic():
            result = apply_suppressions(parsed, filename=filename, actor=request.user)
            log_staff_action(
                actor=request.user, action="import_suppressions", detail=f"{filename}: {result.summary()}"[:500]
            )
        kept.unlink(missing_ok=True)
        return {"done": result, **_shown(result)}


def _shown(result: SuppressionResult) -> dict[str, Any]:
    notes = sorted(result.problems + result.duplicates, key=lambda problem: problem.line)
    return {
        "outcomes": result.outcomes[:SHOWN_ROWS],
        "more_rows": max(0, len(result.outcomes) - SHOWN_ROWS),
        "notes": [str(problem) for problem in notes[:SHOWN_ROWS]],
    }
