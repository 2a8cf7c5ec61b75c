"""Endpoints: the URL and events staff choose; the secret shown to copy into the receiving system."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrations import services, signing
from integrations.events import EVENTS
from integrations.models import Endpoint


class EndpointForm(forms.ModelForm):
    url = forms.URLField(
        label=gettext_lazy("URL"),
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"class": "vURLField", "size": 60}),
        help_text=gettext_lazy(
            "https only. Addresses on this server's own network (private, loopback, link-local) are refused."
        ),
    )
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        # The label staff read, and the name the receiving system's developer looks for.
        choices=[(name, format_lazy("{} ({})", label, name)) for name, label in EVENTS.items()],
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("A delivery is sent to this URL for each of these events."),
    )

    class Meta:
        model = Endpoint
        fields = ["url", "description", "events"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            cleaned["url"], cleaned["events"] = services.check(url=cleaned["url"], events=cleaned["events"])
        except services.InvalidEndpoint as problem:
            for field, field_errors in problem.errors.items():
                for message in field_errors:
                    self.add_error(field, message)
        return cleaned


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    titles = {
        "add": gettext_lazy("Add a webhook endpoint"),
        "change": gettext_lazy("Edit webhook endpoint"),
        "view": gettext_lazy("View webhook endpoint"),
    }
    form = EndpointForm
    list_display = ["url", "event_list", "state", "deliveries_link", "created_by", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "description"]
    readonly_fields = ["secret", "previous_secret_until", "state", "failing_since", "created_by", "created_at"]
    actions = ["send_test_event", "reenable", "rotate_secret"]

    def get_fields(self, request: HttpRequest, obj: Endpoint | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("url", "description", "events")
        fields = ("url", "description", "events", "secret", "state", "failing_since", "created_by", "created_at")
        if obj.previous_secret_until and obj.previous_secret_until > timezone.now():
            return (*fields[:4], "previous_secret_until", *fields[4:])
        return fields

    @admin.display(description=gettext_lazy("Events"))
    def event_list(self, endpoint: Endpoint) -> str:
        return ", ".join(endpoint.events)

    @admin.display(description=gettext_lazy("State"))
    def state(self, endpoint: Endpoint) -> str:
        if endpoint.active:
            return _("Active")
        return _("Disabled: %(reason)s") % {"reason": endpoint.disabled_reason or "—"}

    @admin.display(description=gettext_lazy("Deliveries"))
    def deliveries_link(self, endpoint: Endpoint) -> str:
        url = reverse("admin:integrations_webhookdelivery_changelist") + f"?endpoint__id__exact={endpoint.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Deliveries"))

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        if not change:
            obj.secret = signing.new_secret()
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        disabled = list(Endpoint.objects.filter(active=False).values_list("url", flat=True)[:5])
        if disabled and request.method == "GET":
            messages.warning(
                request,
                _("Disabled after failing (nothing is sent there until re-enabled): %(urls)s")
                % {"urls": ", ".join(disabled)},
            )
        return super().changelist_view(request, extra_context)

    @admin.action(description=gettext_lazy("Send a test event"), permissions=["change"])
    def send_test_event(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        sent = 0
        for endpoint in queryset:
            if endpoint.active:
                services.send_test(endpoint, actor=request.user)
                sent += 1
        if sent:
            messages.success(request, _("Test events queued: %(count)d. See their deliveries.") % {"count": sent})
        if sent < len(queryset):
            messages.warning(request, _("Disabled endpoints get no test event: re-enable them first."))

    @admin.action(description=gettext_lazy("Re-enable"), permissions=["change"])
    def reenable(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        count = sum(services.reenable(endpoint) for endpoint in queryset)
        messages.success(
            request,
            _("Re-enabled: %(count)d. Use “Retry now” on failed deliveries you still want sent.") % {"count": count},
        )

    @admin.action(description=gettext_lazy("Rotate the signing secret"), permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        hours = settings.TOCSIN_WEBHOOK_SECRET_GRACE_HOURS
        for endpoint in queryset:
            rotated = services.rotate_secret(endpoint, actor=request.user)
            messages.success(
                request,
                _(
                    "For %(hours)s hours each delivery to %(url)s is signed with the old secret too; give the "
                    "receiving system its new signing secret before then: %(secret)s"
                )
                % {"url": rotated.url, "secret": rotated.secret, "hours": f"{hours:g}"},
            )
