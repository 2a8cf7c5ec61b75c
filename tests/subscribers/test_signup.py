"""The public sign-up page: what a supporter sees and gets by email."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from subscribers.models import Consent, MailingList, Subscriber, Subscription, Suppression, email_hash

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _tasks_run_in_process():
    # Unit tests run the email tasks' code in-process when the transaction
    # commits; the real queue is exercised by the worker tests.
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def lists():
    return {
        "peru": MailingList.objects.create(slug="peru", name="Peru", position=1),
        "guatemala": MailingList.objects.create(slug="guatemala", name="Guatemala", position=2),
        "donors": MailingList.objects.create(slug="donors", name="Major donors", public=False, position=3),
    }


def post_signup(client, django_capture_on_commit_callbacks, **fields):
    data = {"email": "ana@example.org", "name": "Ana", "lists": ["peru"], "language": "en", **fields}
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/signup/", data)


def without_csrf(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def confirm_link(message) -> str:
    match = re.search(r"https?://\S+/confirm/[^/\s]+/", message.body)
    assert match, message.body
    return match.group(0)


def test_home_page_links_to_the_signup_form(client):
    response = client.get("/")
    assert 'href="/signup/"' in response.content.decode()


def test_signup_page_offers_public_topics_unchecked(client, lists):
    response = client.get("/signup/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="peru"' in html and 'value="guatemala"' in html
    assert 'value="donors"' not in html
    assert "checked" not in html


def test_signup_page_preselects_the_visitors_language(client, lists):
    html = client.get("/signup/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert re.search(r'<option value="fr" selected>', html)


def test_a_signup_sends_a_confirmation_email_and_waits(client, lists, django_capture_on_commit_callbacks):
    response = post_signup(client, django_capture_on_commit_callbacks, lists=["peru", "guatemala"])

    assert response.status_code == 303
    assert response["Location"].startswith("/signup/thanks/")
    assert "Check your inbox" in client.get(response["Location"]).content.decode()
    subscriber = Subscriber.objects.get(email="ana@example.org")
    assert subscriber.status == Subscriber.Status.PENDING
    assert not Subscription.objects.filter(subscriber=subscriber, status=Subscription.Status.ACTIVE).exists()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ana@example.org"]
    assert "Confirm" in message.subject
    assert "/confirm/" in confirm_link(message)
    assert "Peru" in message.body and "Guatemala" in message.body
    html = message.alternatives[0][0]
    assert confirm_link(message).replace("&", "&amp;") in html


def test_the_confirmation_email_is_in_the_chosen_language(client, lists, django_capture_on_commit_callbacks):
    response = post_signup(client, django_capture_on_commit_callbacks, language="es")
    assert response["Location"] == "/signup/thanks/?lang=es"
    assert Subscriber.objects.get().language == "es"
    assert mail.outbox[0].to == ["ana@example.org"]
    # The thanks page follows the chosen language too.
    thanks = client.get(response["Location"]).content.decode()
    assert '<html lang="es">' in thanks


def test_an_address_already_on_the_list_gets_the_same_answer(client, lists, django_capture_on_commit_callbacks):
    fresh = post_signup(client, django_capture_on_commit_callbacks, email="new@example.org")
    Subscriber.objects.create(email="old@example.org", status=Subscriber.Status.CONFIRMED)
    known = post_signup(client, django_capture_on_commit_callbacks, email="old@example.org")

    assert (fresh.status_code, fresh["Location"]) == (known.status_code, known["Location"])
    assert without_csrf(client.get(fresh["Location"])) == without_csrf(client.get(known["Location"]))
    # The confirmed person stays confirmed: a stranger cannot knock them off.
    assert Subscriber.objects.get(email="old@example.org").status == Subscriber.Status.CONFIRMED


def test_a_confirmed_person_signing_up_again_gets_new_topics_only_after_confirming(
    client, lists, django_capture_on_commit_callbacks
):
    person = Subscriber.objects.create(email="ana@example.org", status=Subscriber.Status.CONFIRMED)
    Subscription.objects.create(subscriber=person, mailing_list=lists["peru"])

    post_signup(client, django_capture_on_commit_callbacks, lists=["guatemala"])

    active = set(person.subscriptions.filter(status="active").values_list("mailing_list__slug", flat=True))
    assert active == {"peru"}
    assert len(mail.outbox) == 1


def test_someone_who_unsubscribed_must_confirm_again(client, lists, django_capture_on_commit_callbacks):
    person = Subscriber.objects.create(
        email="ana@example.org", status=Subscriber.Status.UNSUBSCRIBED, confirmed_at=timezone.now()
    )
    Suppression.objects.create(email_hash=email_hash(person.email), reason=Suppression.Reason.UNSUBSCRIBED)

    response = post_signup(client, django_capture_on_commit_callbacks)

    assert response.status_code == 303
    person.refresh_from_db()
    # Unchanged, and still suppressed, until the person clicks the link.
    assert person.status == Subscriber.Status.UNSUBSCRIBED
    assert Suppression.objects.filter(email_hash=email_hash(person.email)).exists()
    assert len(mail.outbox) == 1


def test_at_most_one_confirmation_email_an_hour_per_address(client, lists, django_capture_on_commit_callbacks):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        post_signup(client, django_capture_on_commit_callbacks)
        post_signup(client, django_capture_on_commit_callbacks)
        assert len(mail.outbox) == 1
        clock.shift(timedelta(minutes=61))
        cache.clear()  # the per-IP window is not what this test is about
        post_signup(client, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2
    # Every request is still recorded as evidence, emailed or not.
    assert Consent.objects.filter(action=Consent.Action.SIGNUP).count() == 3


def test_a_name_with_special_characters_is_kept_as_plain_text(client, lists, django_capture_on_commit_callbacks):
    post_signup(client, django_capture_on_commit_callbacks, name='Ana & José "Pepe" O\'Brien')
    subscriber = Subscriber.objects.get()
    assert subscriber.name == 'Ana & José "Pepe" O\'Brien'
    message = mail.outbox[0]
    assert 'Ana & José "Pepe" O\'Brien' in message.body
    assert "Ana &amp; José &quot;Pepe&quot; O&#x27;Brien" in message.alternatives[0][0]


def test_the_signup_form_is_protected_against_csrf(lists):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/signup/", {"email": "ana@example.org", "lists": ["peru"], "language": "en"})
    assert response.status_code == 403
    assert not Subscriber.objects.exists()
