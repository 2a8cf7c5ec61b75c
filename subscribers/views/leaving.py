"""The unsubscribe page (with RFC 8058 one-click) and the preference centre.

Both are reached from a signed link in an email, with no password. The
token is the credential: a GET never changes anything, because mail scanners
and link previews fetch every URL in a message.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from django import forms
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from outbox.relay import BROKER_ERRORS
from subscribers.models import Consent, Language, MailingList, Subscriber, Subscription
from subscribers.services import leaving
from subscribers.services import preferences as preference_centre
from subscribers.services.signup import InvalidSignup, clean_name
from subscribers.tokens import (
    InvalidToken,
    make_preferences_token,
    read_preferences_token,
    read_unsubscribe_token,
)

logger = logging.getLogger(__name__)

ONE_CLICK_BODY = "List-Unsubscribe=One-Click"


class PreferencesForm(forms.Form):
    WORDING_VERSION = "preferences-2026-1"
    WORDING = _(
        "Tick the topics you want to receive by email. You can change your choice, "
        "or leave, at any time from the link at the bottom of every email."
    )

    lists = forms.ModelMultipleChoiceField(
        queryset=MailingList.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Topics"),
        error_messages={
            "refused": _(
                "This address cannot be added to lists from here after a bounce or a spam report. Please sign up again."
            )
        },
    )
    language = forms.ChoiceField(choices=Language.choices, label=_("Language"))
    name = forms.CharField(max_length=100, required=False, label=_("Name"))
    no_tracking = forms.BooleanField(
        required=False,
        label=_("Privacy mode: no open tracking and no tracked links in my emails"),
    )
    pause = forms.ChoiceField(label=_("Pause"), choices=[], widget=forms.RadioSelect)

    def __init__(
        self,
        *args: object,
        subscriber: Subscriber,
        lists: QuerySet[MailingList],
        may_add: bool,
        **kwargs: object,
    ) -> None:
        self.subscriber = subscriber
        active = subscriber.subscriptions.filter(status=Subscription.Status.ACTIVE, mailing_list__in=lists)
        paused = subscriber.paused_until is not None and subscriber.paused_until > timezone.localdate()
        kwargs["initial"] = {
            "lists": list(active.values_list("mailing_list_id", flat=True)),
            "language": subscriber.language,
            "name": subscriber.name,
            "no_tracking": not subscriber.tracking_allowed,
            "pause": "keep" if paused else "none",
        }
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        lists_field = self.fields["lists"]
        assert isinstance(lists_field, forms.ModelMultipleChoiceField)
        lists_field.queryset = lists
        # A bounced or complained address keeps its current topics: adding
        # one back needs a fresh, confirmed sign-up.
        lists_field.disabled = not may_add
        choices: list[tuple[str, Any]] = [
            ("none", _("Send me emails as usual")),
            ("1", _("Pause for 1 month")),
            ("3", _("Pause for 3 months")),
        ]
        if paused:
            assert subscriber.paused_until is not None
            until = subscriber.paused_until.isoformat()
            choices.insert(0, ("keep", _("Stay paused until %(date)s") % {"date": until}))
        pause_field = self.fields["pause"]
        assert isinstance(pause_field, forms.ChoiceField)
        pause_field.choices = choices

    def clean_name(self) -> str:
        # The sign-up form's rules (no links, no disguises): the name greets the person in every email.
        try:
            return clean_name(self.cleaned_data["name"])
        except InvalidSignup as problem:
            raise forms.ValidationError(problem.message) from None

    def paused_until(self) -> date | None:
        choice = self.cleaned_data["pause"]
        if choice == "keep":
            return self.subscriber.paused_until
        if choice in {"1", "3"}:
            return preference_centre.add_months(timezone.localdate(), int(choice))
        return None

    def wording(self) -> str:
        return str(self.WORDING)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address; X-Forwarded-For only counts behind proxies we run."""
    proxies = settings.TOCSIN_TRUSTED_PROXY_COUNT
    if proxies:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None


def _user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:500]


def _is_one_click(request: HttpRequest) -> bool:
    # RFC 8058 bodies come urlencoded or multipart; Django parses both into POST.
    if request.POST.get("List-Unsubscribe") == "One-Click":
        return True
    if request.content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        return False
    # A few senders post the bare line with another content type.
    return request.body.strip() == ONE_CLICK_BODY.encode()


def _invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "subscribers/unsubscribe_invalid.html", status=400)


def _gone(request: HttpRequest) -> HttpResponse:
    return render(request, "subscribers/unsubscribe_gone.html", status=410)


def _find(subscriber_id: int) -> Subscriber | None:
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None or subscriber.status == Subscriber.Status.ERASED:
        return None
    return subscriber


@csrf_exempt  # RFC 8058: mailbox providers POST with no cookies and no CSRF token; the signed URL is the proof.
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber_id = read_unsubscribe_token(token)
    except InvalidToken:
        return _invalid(request)
    try:
        return _unsubscribe(request, subscriber_id)
    except (OperationalError, InterfaceError):
        # The database is down. Losing a request to leave is the one thing
        # we must not do: keep it in the broker (the worker applies it once
        # the database is back) or, with the broker down too, answer 503 so
        # that the sender tries again.
        if request.method != "POST" or not _keep_for_later(request, subscriber_id):
            raise
    kept = (
        "subscribers/unsubscribe_kept_one_click.html" if _is_one_click(request) else "subscribers/unsubscribe_kept.html"
    )
    return render(request, kept, status=202)


def _keep_for_later(request: HttpRequest, subscriber_id: int) -> bool:
    from subscribers.tasks import apply_kept_unsubscribe

    one_click = _is_one_click(request)
    try:
        apply_kept_unsubscribe.apply_async(
            kwargs={
                "subscriber_id": subscriber_id,
                "channel": Consent.Channel.ONE_CLICK if one_click else Consent.Channel.PAGE,
                "ip": client_ip(request),
                "user_agent": _user_agent(request),
                "requested_at": timezone.now().isoformat(),
            },
            retry=False,
        )
    except BROKER_ERRORS as error:
        logger.error("unsubscribe of subscriber %s not kept: database and broker both down (%s)", subscriber_id, error)
        return False
    logger.warning("unsubscribe of subscriber %s kept in the broker until the database is back", subscriber_id)
    return True


def _unsubscribe(request: HttpRequest, subscriber_id: int) -> HttpResponse:
    subscriber = _find(subscriber_id)
    if subscriber is None:
        return _gone(request)

    with translation.override(subscriber.language):
        preferences_path = reverse("subscribers:preferences", args=[make_preferences_token(subscriber)])
        context = _left_context(subscriber, preferences_url=preferences_path)
        if request.method != "POST":
            # A second visit must not offer a button that does nothing.
            page = "unsubscribe_already.html" if _has_left(subscriber) else "unsubscribe.html"
            return render(request, f"subscribers/{page}", context)

        one_click = _is_one_click(request)
        try:
            changed = leaving.unsubscribe(
                subscriber=subscriber,
                channel=Consent.Channel.ONE_CLICK if one_click else Consent.Channel.PAGE,
                ip=client_ip(request),
                user_agent=_user_agent(request),
            )
        except leaving.SubscriberErased:
            return _gone(request)
        # 200, never a redirect: RFC 8058 §3 senders do not follow one.
        if one_click:
            return render(request, "subscribers/unsubscribe_one_click.html", {**context, "already": not changed})
        template = "subscribers/unsubscribe_done.html" if changed else "subscribers/unsubscribe_already.html"
        return render(request, template, context)


def _has_left(subscriber: Subscriber) -> bool:
    return subscriber.status in {
        Subscriber.Status.UNSUBSCRIBED,
        Subscriber.Status.BOUNCED,
        Subscriber.Status.COMPLAINED,
    }


def _left_context(subscriber: Subscriber, *, preferences_url: str) -> dict[str, Any]:
    """What the pages after leaving need: the way back is the preference centre, or a new sign-up after a bounce."""
    return {
        "subscriber": subscriber,
        "preferences_url": preferences_url,
        "may_come_back": leaving.can_resubscribe(subscriber),
        "signup_url": _signup_url(),
    }


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscriber_id = read_preferences_token(token)
    except InvalidToken:
        return _invalid(request)
    subscriber = _find(subscriber_id)
    if subscriber is None:
        return _gone(request)
    with translation.override(subscriber.language):
        return _preferences(request, subscriber)


def _preferences(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    if request.method == "POST" and request.POST.get("action") == "leave":
        changed = leaving.unsubscribe(
            subscriber=subscriber,
            channel=Consent.Channel.PREFERENCES,
            ip=client_ip(request),
            user_agent=_user_agent(request),
        )
        template = "subscribers/unsubscribe_done.html" if changed else "subscribers/unsubscribe_already.html"
        return render(request, template, _left_context(subscriber, preferences_url=request.path))

    may_add = leaving.can_resubscribe(subscriber)
    form = PreferencesForm(
        request.POST if request.method == "POST" else None,
        subscriber=subscriber,
        lists=MailingList.objects.filter(public=True),
        may_add=may_add,
    )
    if request.method == "POST" and form.is_valid():
        try:
            preference_centre.update_preferences(
                subscriber=subscriber,
                lists=form.cleaned_data["lists"],
                language=form.cleaned_data["language"],
                name=form.cleaned_data["name"],
                tracking_allowed=not form.cleaned_data["no_tracking"],
                paused_until=form.paused_until(),
                ip=client_ip(request),
                user_agent=_user_agent(request),
                wording=form.wording(),
                wording_version=PreferencesForm.WORDING_VERSION,
            )
        except leaving.ResubscribeRefused:
            form.add_error("lists", form.fields["lists"].error_messages["refused"])
        else:
            # Post/redirect/get, so a reload does not post again; the flag
            # travels in the URL because this page keeps no session.
            return HttpResponseRedirect(f"{request.path}?saved=1")

    return render(
        request,
        "subscribers/preferences.html",
        {
            "subscriber": subscriber,
            "form": form,
            "saved": request.method != "POST" and request.GET.get("saved") == "1",
            "may_add": may_add,
            "signup_url": _signup_url(),
        },
    )


def _signup_url() -> str:
    try:
        return reverse("subscribers:signup")
    except NoReverseMatch:  # the home page links the sign-up form too
        return "/"
