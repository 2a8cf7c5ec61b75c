"""Endpoints: the URL and events staff choose; the signing secret, shown once to copy into the receiving system.

The secret is shown on one page, right after the endpoint is made or its
secret rotated (the session carries it there, through a redirect, and
forgets it once shown); every other page shows it masked, beside "Rotate
secret" for those who may change endpoints. Changes are audited by services.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrations import services
from integrations.events import EVENTS
from integrations.models import Endpoint

# Secrets waiting to be shown once, in the session of who made them: [[endpoint id, secret, rotated], …].
_TO_SHOW = "integrations.secrets_to_show"


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


def masked(secret: str) -> str:
    """Enough to tell which secret the receiving system holds, not enough to sign with."""
    # The base64 padding (=) tells no two secrets apart: show the four characters before it.
    return f"whsec_…{secret.rstrip('=')[-4:]}" if secret else "—"


def grace_hours() -> str:
    return f"{float(settings.TOCSIN_WEBHOOK_SECRET_GRACE_HOURS):g}"


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
    readonly_fields = [
        "masked_secret",
        "secret_and_rotate",
        "previous_secret_until",
        "state",
        "failing_since",
        "created_by",
        "created_at",
    ]
    actions = ["send_test_event", "reenable", "rotate_secret"]

    def get_fields(self, request: HttpRequest, obj: Endpoint | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("url", "description", "events")
        secret = "secret_and_rotate" if self.has_change_permission(request, obj) else "masked_secret"
        fields = ("url", "description", "events", secret, "state", "failing_since", "created_by", "created_at")
        if obj.previous_secret_until and obj.previous_secret_until > timezone.now():
            return (*fields[:4], "previous_secret_until", *fields[4:])
        return fields

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path("secret/", wrap(self.secret_view), name="{}_{}_secret".format(*info)),
            path("<path:object_id>/rotate-secret/", wrap(self.rotate_view), name="{}_{}_rotate_secret".format(*info)),
            *super().get_urls(),
        ]

    @admin.display(description=gettext_lazy("Signing secret"))
    def masked_secret(self, endpoint: Endpoint) -> str:
        return format_html("<code>{}</code>", masked(endpoint.secret))

    @admin.display(description=gettext_lazy("Signing secret"))
    def secret_and_rotate(self, endpoint: Endpoint) -> str:
        url = reverse("admin:integrations_endpoint_rotate_secret", args=[endpoint.pk])
        return format_html(
            '<div class="webhook-secret-field"><code>{}</code> <a class="button" href="{}">{}</a>'
            '<p class="help">{}</p></div>',
            masked(endpoint.secret),
            url,
            _("Rotate secret"),
            _(
                "The secret was shown once, when it was made. If it is lost or leaked, rotate it: you get a new "
                "one, and the old one keeps signing too for %(hours)s hours, so the receiving system can switch "
                "without losing a delivery."
            )
            % {"hours": grace_hours()},
        )

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
        data = form.cleaned_data
        if change:
            services.update_endpoint(
                obj, actor=request.user, url=data["url"], events=data["events"], description=data["description"]
            )
        else:
            services.register(obj, actor=request.user)

    def delete_model(self, request: HttpRequest, obj: Endpoint) -> None:
        services.delete_endpoint(obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset:
            services.delete_endpoint(endpoint, actor=request.user)

    def _show_once(self, request: HttpRequest, endpoint: Endpoint, *, rotated: bool) -> None:
        waiting = [item for item in request.session.get(_TO_SHOW, []) if item[0] != endpoint.pk]
        request.session[_TO_SHOW] = [*waiting, [endpoint.pk, endpoint.secret, rotated]]

    def _to_secret_page(self) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:integrations_endpoint_secret"))

    def response_add(self, request: HttpRequest, obj: Endpoint, post_url_continue: str | None = None) -> HttpResponse:
        # Not the admin's "added" message and redirect: the next page is the only one showing the secret.
        self._show_once(request, obj, rotated=False)
        return self._to_secret_page()

    def secret_view(self, request: HttpRequest) -> HttpResponse:
        """Show the secrets waiting in this session, once; a reload shows that they are gone."""
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        waiting = request.session.pop(_TO_SHOW, [])
        endpoints = Endpoint.objects.in_bulk([item[0] for item in waiting])
        shown = [
            (endpoints[pk], secret, rotated)
            for pk, secret, rotated in waiting
            # A secret rotated again since, or an endpoint deleted meanwhile, is not worth showing.
            if pk in endpoints and endpoints[pk].secret == secret
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Copy the signing secret now") if shown else _("Signing secret"),
            "opts": self.opts,
            "shown": shown,
            "hours": grace_hours(),
        }
        return TemplateResponse(request, "admin/integrations/endpoint/secret_shown_once.html", context)

    def rotate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET asks (and explains the grace period); POST rotates and goes to the page that shows it once."""
        endpoint = self.get_object(request, unquote(object_id))
        if endpoint is None:
            raise Http404(_("No such webhook endpoint."))
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        if request.method == "POST":
            self._show_once(request, services.rotate_secret(endpoint, actor=request.user), rotated=True)
            return self._to_secret_page()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Rotate the signing secret?"),
            "opts": self.opts,
            "original": endpoint,
            "masked": masked(endpoint.secret),
            "hours": grace_hours(),
        }
        return TemplateResponse(request, "admin/integrations/endpoint/rotate_secret.html", context)

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
        count = sum(services.reenable(endpoint, actor=request.user) for endpoint in queryset)
        messages.success(
            request,
            _("Re-enabled: %(count)d. Use “Retry now” on failed deliveries you still want sent.") % {"count": count},
        )

    @admin.action(description=gettext_lazy("Rotate the signing secret"), permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> HttpResponse:
        for endpoint in queryset:
            self._show_once(request, services.rotate_secret(endpoint, actor=request.user), rotated=True)
        return self._to_secret_page()
