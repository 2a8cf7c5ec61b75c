"""On an action's admin page: how its letters reach the targets, per target, with a retry for failed ones.

The retry buttons submit the change form itself to the retry URL
(``formaction``): no nested form, no JavaScript, the form's CSRF token.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from actions import restoring, services, tasks
from actions.models import Action
from actions.sending import claims
from campaigns.staff import audit
from campaigns.staff.roles import can_send

DELIVERY_FIELDSET: Any = (
    gettext_lazy("How letters reach the targets"),
    {
        "fields": (
            "test_mode_notice",
            "test_mode",
            "test_email",
            "test_digest",
            "delivery_mode",
            "digest_hour",
            "daily_cap",
            "letters_by_target",
        ),
        "description": gettext_lazy(
            "Each letter goes as it comes, or each target gets one digest a day at the hour set (in the "
            "organisation's time zone). With a daily limit, letters beyond it wait for the next day."
        ),
    },
)


class LetterDeliveryMixin:
    """Read-only panels and the retry view, for ``ActionAdmin``."""

    admin_site: Any

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        # A new action starts in test mode: letters go to staff until it is opened.
        return {**super().get_changeform_initial_data(request), "test_mode": True}  # type: ignore[misc]

    @staticmethod
    def test_mode_text(action: Action) -> str:
        return _(
            "Test mode: letters go to %(address)s, not to the targets, and their subject starts with [TEST]. "
            "Opening the action (or unticking test mode) ends it."
        ) % {"address": action.test_email or _("the address of whoever created the action")}

    @staticmethod
    def held_text(count: int) -> str:
        return ngettext(
            "%(n)d letter was held when the database was restored from a backup: it may already have reached "
            "its target. “Retry failed” below sends it anyway; otherwise it stays unsent.",
            "%(n)d letters were held when the database was restored from a backup: they may already have reached "
            "their targets. “Retry failed” below sends them anyway (a target may get one twice); otherwise they "
            "stay unsent.",
            count,
        ) % {"n": count}

    def test_mode_notice(self, action: Action) -> SafeString:
        if not action.test_mode:
            return mark_safe("—")
        return render_to_string("actions/admin/test_mode_notice.html", {"text": self.test_mode_text(action)})

    test_mode_notice.short_description = gettext_lazy("test mode")  # type: ignore[attr-defined]

    @staticmethod
    def _letters_table(action: Action, *, with_retry: bool) -> SafeString:
        if action.pk is None or not action.is_letter:
            return mark_safe("—")
        rows = services.letter_counts_by_target(action)
        context = {
            "rows": rows,
            "failed": sum(row["failed"] for row in rows),
            "overall_limit": claims.overall_cap(),
            "retry_url": reverse("admin:actions_action_retry_letters", args=[action.pk]) if with_retry else "",
        }
        return render_to_string("actions/admin/letters_by_target.html", context)

    def letters_by_target(self, action: Action) -> SafeString:
        return self._letters_table(action, with_retry=True)

    letters_by_target.short_description = gettext_lazy("letters per target")  # type: ignore[attr-defined]

    def letter_counts_by_target(self, action: Action) -> SafeString:
        """The same table without the retry buttons, for those who may not send (writers)."""
        return self._letters_table(action, with_retry=False)

    letter_counts_by_target.short_description = gettext_lazy("letters per target")  # type: ignore[attr-defined]

    @staticmethod
    def fields_for(request: HttpRequest) -> dict[str, str | None]:
        """Read-only fields swapped (or left out, None) for someone who may not use their buttons."""
        swaps: dict[str, str | None] = {}
        if not can_send(request.user):
            swaps["letters_by_target"] = "letter_counts_by_target"
            swaps["test_digest"] = None  # a test send is for those who may send
        return swaps

    def letter_delivery_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [path("<int:pk>/letters/retry/", view(self.retry_letters), name="actions_action_retry_letters")]

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "GET":
            action = Action.objects.filter(pk=object_id).first() if object_id.isdigit() else None
            if action is not None and action.test_mode:
                messages.warning(request, self.test_mode_text(action))
            held = restoring.held_count(action) if action is not None else 0
            if held:
                messages.warning(request, self.held_text(held))
        return super().change_view(request, object_id, *args, **kwargs)  # type: ignore[misc]

    @staticmethod
    def _target_id(request: HttpRequest) -> int | None:
        raw = request.POST.get("retry_target", "")
        if raw in ("", "all"):
            return None
        if not raw.isdigit() or len(raw) > 18:
            raise ValueError(raw)
        return int(raw)

    def retry_letters(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Failed letters of the action (of one target, or all) pending again and queued; audited."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not can_send(request.user):  # retrying sends letters to the targets: senders and admins, as opening does
            raise PermissionDenied
        action = get_object_or_404(Action, pk=pk)
        try:
            target_id = self._target_id(request)
        except ValueError:
            return HttpResponseBadRequest(_("Unknown target."))
        count = tasks.retry_failed(action=action, target_id=target_id)
        which = f" to target {target_id}" if target_id else ""
        audit.record(
            actor=request.user,
            action=audit.EDITED,
            detail=f"retried {count} failed letter(s) of action {action.slug}{which}",
        )
        messages.success(request, _("%(count)d failed letter(s) queued again.") % {"count": count})
        return HttpResponseRedirect(reverse("admin:actions_action_change", args=[action.pk]))
