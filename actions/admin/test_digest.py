"""On an action's admin page: send yourself a test digest (what one target's daily digest will look like).

The button submits the change form itself to the test digest URL
(``formaction``), like the retry buttons: no nested form, the form's CSRF
token. For those who may send (senders and admins), as campaigns' test sends;
each test goes to the audit log. ``actions/sending/proofs.py`` builds and sends it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from actions.models import Action
from actions.sending import proofs
from campaigns.staff import audit
from campaigns.staff.roles import can_send


def _target_id(raw: str) -> int | None:
    """The chosen target's id, None for "the first one"; ValueError for anything else."""
    if raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ValueError(raw)
    return int(raw)


class TestDigestMixin:
    """The read-only panel with the button, and its view, for ``ActionAdmin``."""

    admin_site: Any

    def test_digest(self, action: Action) -> SafeString:
        if action.pk is None or not action.is_letter:
            return mark_safe("—")
        context = {
            "url": reverse("admin:actions_action_test_digest", args=[action.pk]),
            "targets": proofs.target_choices(action),
            "test_email": action.test_email,
        }
        return render_to_string("actions/admin/test_digest.html", context)

    test_digest.short_description = gettext_lazy("test digest")  # type: ignore[attr-defined]

    def test_digest_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [path("<int:pk>/letters/test-digest/", view(self.send_test_digest), name="actions_action_test_digest")]

    @staticmethod
    def _address(request: HttpRequest, action: Action) -> str | None:
        """Only the sender's own address or the action's test address; None for anything else."""
        chosen = request.POST.get("test_digest_to", "me")
        if chosen == "me":
            return str(getattr(request.user, "email", "") or "")
        if chosen == "test_address":
            return action.test_email
        return None

    def send_test_digest(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not can_send(request.user):  # as campaigns' test sends: senders and admins
            raise PermissionDenied
        action = get_object_or_404(Action, pk=pk)
        back = HttpResponseRedirect(reverse("admin:actions_action_change", args=[action.pk]))
        to = self._address(request, action)
        if not action.is_letter or to is None:
            return HttpResponseBadRequest(_("Only a letter has digests, sent to you or to its test address."))
        try:
            target_id = _target_id(request.POST.get("test_digest_target", ""))
        except ValueError:
            return HttpResponseBadRequest(_("Unknown target."))
        if not to:
            messages.error(
                request, _("There is no address to send the test to: set one on your account or the action.")
            )
            return back
        try:
            sent = proofs.send_test_digest(action=action, target_id=target_id, to=to)
        except proofs.NotATarget:
            return HttpResponseBadRequest(_("Unknown target."))
        except Exception as problem:  # SMTP down, provider refusal: tell staff, keep the page
            messages.error(request, _("The test could not be sent: %(error)s") % {"error": problem})
            return back
        audit.record(
            actor=request.user,
            action=audit.TEST_SENT,
            detail=f"test digest of action {action.slug} for target {sent.target.email or '-'} to {to}",
        )
        messages.success(
            request,
            _("Test digest for %(target)s sent to %(address)s. Look for [TEST] in the subject.")
            % {"target": sent.target.name, "address": to},
        )
        return back
