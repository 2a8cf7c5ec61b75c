"""The link in the confirmation email: one click on a button, then a welcome."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from subscribers.models import Consent, MailingList, Subscriber, Subscription, Suppression, email_hash
from subscribers.services import subscribe, unsubscribe

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signup_isolation")]


@pytest.fixture
def lists():
    return {
        "peru": MailingList.objects.create(slug="peru", name="Peru", position=1),
        "guatemala": MailingList.objects.create(slug="guatemala", name="Guatemala", position=2),
    }


@pytest.fixture
def signup(lists, django_capture_on_commit_callbacks):
    """Sign someone up through the service; return the path of their confirmation link."""

    def make(email="ana@example.org", slugs=("peru",), language="en", name="Ana") -> str:
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            subscribe(email=email, name=name, language=language, lists=list(slugs), source=Consent.Source.FORM)
        assert len(mail.outbox) == 1, "expected one confirmation email"
        match = re.search(r"https?://[^/\s]+(/confirm/[^/\s]+/)", mail.outbox[0].body)
        assert match
        mail.outbox.clear()
        return match.group(1)

    return make


def press_button(client, django_capture_on_commit_callbacks, path, **extra):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(path, **extra)


def test_opening_the_link_shows_a_button_and_changes_nothing(client, signup):
    path = signup()
    response = client.get(path)

    assert response.status_code == 200
    html = response.content.decode()
    assert f'<form method="post" action="{path}">' in html
    assert html.count("<button") == 2  # ours, and the footer's language switcher
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    assert not Consent.objects.filter(action=Consent.Action.CONFIRM).exists()
    assert mail.outbox == []


def test_the_button_confirms_and_sends_a_welcome_with_the_preferences_link(
    client, signup, django_capture_on_commit_callbacks
):
    path = signup(slugs=("peru", "guatemala"))
    response = press_button(client, django_capture_on_commit_callbacks, path, HTTP_USER_AGENT="Firefox/140")

    assert response.status_code == 200
    assert "you are signed up" in response.content.decode()
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.CONFIRMED
    assert subscriber.confirmed_at is not None
    active = subscriber.subscriptions.filter(status=Subscription.Status.ACTIVE)
    assert set(active.values_list("mailing_list__slug", flat=True)) == {"peru", "guatemala"}
    confirmation = Consent.objects.get(action=Consent.Action.CONFIRM)
    assert confirmation.confirmed_at is not None
    assert confirmation.ip_address == "127.0.0.1"
    assert confirmation.user_agent == "Firefox/140"
    assert confirmation.lists == ["peru", "guatemala"]
    assert len(mail.outbox) == 1
    welcome = mail.outbox[0]
    assert "Welcome" in welcome.subject
    assert "/preferences/" in welcome.body
    assert "/unsubscribe/" in welcome.body
    assert "/preferences/" in welcome.alternatives[0][0]


def test_pages_and_emails_follow_the_subscribers_language(client, signup, django_capture_on_commit_callbacks):
    path = signup(language="es")
    page = client.get(path).content.decode()
    assert '<html lang="es">' in page
    press_button(client, django_capture_on_commit_callbacks, path)
    assert '<html lang="es">' in mail.outbox[0].alternatives[0][0]


def test_a_reused_link_says_so_and_changes_nothing(client, signup, django_capture_on_commit_callbacks):
    path = signup()
    press_button(client, django_capture_on_commit_callbacks, path)
    mail.outbox.clear()
    consents = Consent.objects.count()

    again = press_button(client, django_capture_on_commit_callbacks, path)
    shown = client.get(path)

    assert again.status_code == 409
    assert shown.status_code == 409
    assert "Already confirmed" in again.content.decode()
    assert Consent.objects.count() == consents
    assert mail.outbox == []


@pytest.mark.parametrize(
    "tamper",
    [
        lambda path: path[:-6] + "XXXXX/",
        lambda path: path.replace("/confirm/", "/confirm/x"),
        lambda path: "/confirm/not-a-token/",
        lambda path: "/confirm/" + "A" * 2000 + "/",
    ],
)
def test_a_tampered_link_is_refused_with_400(client, signup, django_capture_on_commit_callbacks, tamper):
    path = signup()
    for method in (client.get, client.post):
        response = method(tamper(path))
        assert response.status_code == 400
        assert "not valid" in response.content.decode()
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING


def test_an_expired_link_is_refused_with_410(client, signup, django_capture_on_commit_callbacks, settings):
    settings.TOCSIN_CONFIRMATION_MAX_AGE_DAYS = 7
    path = signup()
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        response = press_button(client, django_capture_on_commit_callbacks, path)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    assert mail.outbox == []


def test_confirming_a_fresh_signup_lifts_the_suppression(client, signup, lists, django_capture_on_commit_callbacks):
    person = Subscriber.objects.create(
        email="ana@example.org", status=Subscriber.Status.CONFIRMED, confirmed_at=timezone.now()
    )
    Subscription.objects.create(subscriber=person, mailing_list=lists["peru"])
    unsubscribe(subscriber=person, channel=Consent.Channel.PAGE)
    assert Suppression.objects.filter(email_hash=email_hash(person.email)).exists()

    path = signup(slugs=("guatemala",))
    assert Suppression.objects.filter(email_hash=email_hash(person.email)).exists()
    press_button(client, django_capture_on_commit_callbacks, path)

    person.refresh_from_db()
    assert person.status == Subscriber.Status.CONFIRMED
    assert not Suppression.objects.filter(email_hash=email_hash(person.email)).exists()
    # Coming back, they get what they ticked this time, not what they had before.
    active = person.subscriptions.filter(status=Subscription.Status.ACTIVE)
    assert set(active.values_list("mailing_list__slug", flat=True)) == {"guatemala"}


def test_a_link_from_before_the_person_left_cannot_bring_them_back(client, signup, django_capture_on_commit_callbacks):
    path = signup()
    person = Subscriber.objects.get()
    unsubscribe(subscriber=person, channel=Consent.Channel.PAGE)

    response = press_button(client, django_capture_on_commit_callbacks, path)

    assert response.status_code == 410
    person.refresh_from_db()
    assert person.status == Subscriber.Status.UNSUBSCRIBED
    assert Suppression.objects.filter(email_hash=email_hash(person.email)).exists()


def test_a_confirmed_person_adds_topics_by_confirming_again(client, signup, lists, django_capture_on_commit_callbacks):
    press_button(client, django_capture_on_commit_callbacks, signup(slugs=("peru",)))
    mail.outbox.clear()
    Subscriber.objects.update(last_confirmation_sent_at=None)

    path = signup(slugs=("guatemala",))
    press_button(client, django_capture_on_commit_callbacks, path)

    person = Subscriber.objects.get()
    active = person.subscriptions.filter(status=Subscription.Status.ACTIVE)
    assert set(active.values_list("mailing_list__slug", flat=True)) == {"peru", "guatemala"}
    assert mail.outbox == []  # no second welcome


def test_a_purged_signup_link_says_to_sign_up_again(client, signup, django_capture_on_commit_callbacks):
    from subscribers.services import purge_unconfirmed

    path = signup()
    assert purge_unconfirmed(older_than_days=1) == 0  # signed up just now: kept
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert purge_unconfirmed(older_than_days=1) == 1
    response = press_button(client, django_capture_on_commit_callbacks, path)
    assert response.status_code == 410
    assert not Subscriber.objects.exists()


def test_the_confirm_button_works_without_cookies(signup, django_capture_on_commit_callbacks):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = press_button(strict, django_capture_on_commit_callbacks, signup())
    assert response.status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.CONFIRMED
