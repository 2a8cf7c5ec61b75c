"""The outbox for operators: what waits for the broker, how often it was refused and why; "relay now".

Read-only: rows are written with the change they belong to (``relay.enqueue``)
and handed over by the relays, never typed in by staff. The page is in
"Staff and security" (config/admin.py); seeing it takes ``outbox.view_outboxmessage``
and relaying ``outbox.change_outboxmessage``, which only the admin role holds.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from outbox import relay
from outbox.models import OutboxMessage

WAITING, REFUSED, SENT = "waiting", "refused", "sent"


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            (WAITING, _("Waiting")),
            (REFUSED, _("Waiting, refused by the broker at least once")),
            (SENT, _("Handed to the broker")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> QuerySet[OutboxMessage]:
        if self.value() == WAITING:
            return queryset.filter(sent_at__isnull=True)
        if self.value() == REFUSED:
            return queryset.filter(sent_at__isnull=True).exclude(last_error="")
        if self.value() == SENT:
            return queryset.filter(sent_at__isnull=False)
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    titles = {"add": _("Add a task call"), "change": _("Edit task call"), "view": _("View task call")}
    # What an operator looks for first on the left: the table scrolls sideways beside the sidebar.
    list_display = ["task", "state", "attempts", "error", "created_at"]
    list_filter = [StateFilter, "task", "created_at"]
    search_fields = ["task", "last_error"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    actions = ["relay_now"]
    readonly_fields = (
        "task", "args", "kwargs", "queue", "created_at", "sent_at", "attempts", "claimed_until", "last_error",
    )  # fmt: skip
    fields = readonly_fields

    @admin.display(description=_("state"))
    def state(self, row: OutboxMessage) -> str:
        if row.sent_at is not None:
            return str(_("Handed to the broker"))
        if row.claimed_until is not None and row.claimed_until > timezone.now():
            return str(_("Being handed over"))
        return str(_("Waiting"))

    @admin.display(description=_("last error"))
    def error(self, row: OutboxMessage) -> str:
        # The whole text is on the row's page; the list stays readable beside the sidebar.
        return Truncator(row.last_error).chars(80)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        title = _("Outbox (task calls waiting for the workers)")
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    @admin.action(description=_("Relay now (hand the selected waiting rows to the broker)"), permissions=["relay"])
    def relay_now(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        ids = list(queryset.filter(Q(sent_at__isnull=True)).values_list("id", flat=True))
        handed, waiting = relay.relay_now(ids)
        if handed:
            message = ngettext(
                "%(count)d task call handed to the broker.", "%(count)d task calls handed to the broker.", handed
            )
            self.message_user(request, message % {"count": handed}, messages.SUCCESS)
        if waiting:
            message = ngettext(
                "The broker refused: %(count)d task call still waits (see its last error); beat's relay will retry.",
                "The broker refused: %(count)d task calls still wait (see their last error); beat's relay will retry.",
                waiting,
            )
            self.message_user(request, message % {"count": waiting}, messages.ERROR)
        if not handed and not waiting:
            self.message_user(request, _("Nothing to relay: the selected rows were sent or are being handed over."))

    def has_relay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("outbox.change_outboxmessage")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutboxMessage | None = None) -> bool:
        return False
