"""The consent record: CASL/GDPR evidence of who agreed to what, when, where."""

from __future__ import annotations

import html as htmlmod
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from subscribers import consent_text, tasks
from subscribers.models import AppendOnlyError, Consent, MailingList, Subscriber, Subscription, Suppression, email_hash
from subscribers.services import InvalidSignup, purge_unconfirmed, subscribe, suppress

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("signup_isolation")]


@pytest.fixture
def lists():
    return {
        "peru": MailingList.objects.create(slug="peru", name="Peru", position=1),
        "canada": MailingList.objects.create(slug="canada-policy", name="Canada policy", position=2),
        "staff": MailingList.objects.create(slug="staff", name="Staff", public=False, position=3),
    }


def test_the_consent_row_keeps_the_exact_wording_shown_and_the_request(
    client, lists, django_capture_on_commit_callbacks
):
    page = client.get("/signup/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    frozen = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)
    with time_machine.travel(frozen, tick=False), django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/signup/",
            {"email": "Ana@Example.org ", "lists": ["canada-policy", "peru"], "language": "fr"},
            HTTP_USER_AGENT="Mozilla/5.0 (Test)",
            HTTP_ACCEPT_LANGUAGE="en",
        )

    consent = Consent.objects.get()
    assert consent.action == Consent.Action.SIGNUP
    assert consent.email == "ana@example.org"
    assert consent.basis == Consent.Basis.EXPRESS
    assert consent.source == Consent.Source.FORM
    assert consent.lists == ["peru", "canada-policy"]
    assert consent.wording_version == consent_text.CURRENT_VERSION
    assert consent.language == "en"  # the language the wording was shown in
    assert htmlmod.escape(consent.wording, quote=False) in page.replace("&#x27;", "'")
    assert consent.page_url == "http://testserver/signup/"
    assert consent.ip_address == "127.0.0.1"
    assert consent.user_agent == "Mozilla/5.0 (Test)"
    assert consent.requested_at == frozen
    assert consent.confirmed_at is None
    assert Subscriber.objects.get().language == "fr"  # what the person chose for emails


def test_the_wording_is_stored_in_the_language_of_the_page(client, lists, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/signup/",
            {"email": "ana@example.org", "lists": ["peru"], "language": "en"},
            HTTP_ACCEPT_LANGUAGE="es",
        )
    consent = Consent.objects.get()
    assert consent.language == "es"
    assert consent.wording == consent_text.consent_wording(language="es")


def test_consent_rows_cannot_be_edited_or_deleted(lists):
    result = subscribe(email="ana@example.org", lists=["peru"], source=Consent.Source.FORM)
    consent = result.consent
    consent.wording = "something else"
    with pytest.raises(AppendOnlyError):
        consent.save()
    with pytest.raises(AppendOnlyError):
        Consent.objects.filter(pk=consent.pk).update(wording="x")
    with pytest.raises(AppendOnlyError):
        consent.delete()


def test_an_import_with_recorded_consent_confirms_at_once_without_email(lists, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = subscribe(
            email="ana@example.org",
            name="Ana",
            language="es",
            lists=["peru"],
            source=Consent.Source.IMPORT,
            basis=Consent.Basis.IMPLIED,
            implied_since=date(2025, 6, 1),
            double_opt_in=False,
            detail="supporters-2025.csv",
            requested_at=datetime(2025, 6, 1, tzinfo=UTC),
        )

    assert result.outcome == "confirmed" and result.created
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.CONFIRMED
    assert subscriber.subscriptions.get().mailing_list.slug == "peru"
    consent = Consent.objects.get()
    assert consent.action == Consent.Action.IMPORT
    assert consent.basis == Consent.Basis.IMPLIED
    assert consent.implied_since == date(2025, 6, 1)
    assert consent.detail == "supporters-2025.csv"
    assert consent.confirmed_at is not None
    assert mail.outbox == []


def test_the_api_adds_lists_to_an_existing_address(lists):
    first = subscribe(email="ana@example.org", lists=["peru"], source=Consent.Source.API, double_opt_in=False)
    again = subscribe(email="ANA@example.org", lists=[lists["canada"]], source=Consent.Source.API, double_opt_in=False)
    assert again.subscriber.pk == first.subscriber.pk and not again.created
    active = again.subscriber.subscriptions.filter(status=Subscription.Status.ACTIVE)
    assert set(active.values_list("mailing_list__slug", flat=True)) == {"peru", "canada-policy"}
    assert [c.action for c in Consent.objects.all()] == [Consent.Action.API, Consent.Action.API]


def test_the_api_may_ask_for_double_opt_in(lists, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = subscribe(email="ana@example.org", lists=["staff"], source=Consent.Source.API, double_opt_in=True)
    assert result.outcome == "pending" and result.confirmation_queued
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("reason", list(Suppression.Reason))
def test_an_import_never_brings_back_a_suppressed_address(lists, reason):
    subscribe(email="ana@example.org", lists=["peru"], source=Consent.Source.IMPORT, double_opt_in=False)
    suppress(email="ana@example.org", reason=reason)
    before = Consent.objects.count()

    result = subscribe(email="ana@example.org", lists=["peru"], source=Consent.Source.IMPORT, double_opt_in=False)

    assert result.outcome == "suppressed"
    assert Consent.objects.count() == before
    assert Subscriber.objects.get().status != Subscriber.Status.CONFIRMED


def test_an_import_of_an_erased_address_creates_nobody(lists):
    Suppression.objects.create(email_hash=email_hash("gone@example.org"), reason=Suppression.Reason.ERASED)
    result = subscribe(email="gone@example.org", lists=["peru"], source=Consent.Source.IMPORT, double_opt_in=False)
    assert result.outcome == "suppressed" and result.subscriber is None
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "bad"}, "email"),
        ({"email": "a@b.org\r\nBcc: x@y.org"}, "email"),
        ({"name": "<b>Ana</b>"}, "name"),
        ({"language": "xx"}, "language"),
        ({"lists": ["nope"]}, "lists"),
        ({"lists": []}, "lists"),
        ({"source": "carrier-pigeon"}, "source"),
        ({"wording_version": "1999"}, "wording_version"),
    ],
)
def test_the_service_refuses_bad_input_from_any_caller(lists, fields, field):
    arguments = {"email": "ana@example.org", "lists": ["peru"], "source": Consent.Source.API, **fields}
    with pytest.raises(InvalidSignup) as raised:
        subscribe(**arguments)
    assert raised.value.field == field
    assert not Subscriber.objects.exists()


def test_the_confirmation_task_can_be_run_directly(lists):
    result = subscribe(email="ana@example.org", lists=["peru"], source=Consent.Source.FORM)
    mail.outbox.clear()
    assert tasks.send_confirmation_email(result.subscriber.pk, result.consent.pk) is True
    assert len(mail.outbox) == 1
    # A sign-up purged before the worker got to it is skipped quietly.
    assert tasks.send_confirmation_email(999_999, 999_999) is False
    assert tasks.send_welcome_email(result.subscriber.pk) is False  # not confirmed yet


# --- purging unconfirmed sign-ups ------------------------------------------------------------


def test_unconfirmed_signups_are_purged_after_the_configured_days(lists, settings):
    settings.TOCSIN_PURGE_UNCONFIRMED_DAYS = 30
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        stale = subscribe(email="stale@example.org", lists=["peru"], source=Consent.Source.FORM).subscriber
        confirmed = subscribe(
            email="kept@example.org", lists=["peru"], source=Consent.Source.IMPORT, double_opt_in=False
        ).subscriber
    with time_machine.travel(start + timedelta(days=29), tick=False):
        assert tasks.purge_unconfirmed() == 0
        recent = subscribe(email="recent@example.org", lists=["peru"], source=Consent.Source.FORM).subscriber
    with time_machine.travel(start + timedelta(days=31), tick=False):
        assert tasks.purge_unconfirmed() == 1

    assert not Subscriber.objects.filter(pk=stale.pk).exists()
    assert not Consent.objects.filter(email="stale@example.org").exists()
    assert Subscriber.objects.filter(pk=confirmed.pk).exists()
    assert Subscriber.objects.filter(pk=recent.pk).exists()


def test_signing_up_again_keeps_a_pending_person_from_being_purged(lists, settings):
    settings.TOCSIN_PURGE_UNCONFIRMED_DAYS = 30
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        subscribe(email="ana@example.org", lists=["peru"], source=Consent.Source.FORM)
    with time_machine.travel(start + timedelta(days=25), tick=False):
        subscribe(email="ana@example.org", lists=["peru"], source=Consent.Source.FORM)
    with time_machine.travel(start + timedelta(days=31), tick=False):
        assert purge_unconfirmed() == 0
    with time_machine.travel(start + timedelta(days=56), tick=False):
        assert purge_unconfirmed() == 1


def test_someone_who_left_and_signed_up_again_is_not_purged(lists, settings):
    settings.TOCSIN_PURGE_UNCONFIRMED_DAYS = 30
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        person = subscribe(
            email="ana@example.org", lists=["peru"], source=Consent.Source.IMPORT, double_opt_in=False
        ).subscriber
        Subscriber.objects.filter(pk=person.pk).update(status=Subscriber.Status.UNSUBSCRIBED)
        subscribe(email="ana@example.org", lists=["peru"], source=Consent.Source.FORM)
    with time_machine.travel(start + timedelta(days=60), tick=False):
        assert purge_unconfirmed() == 0
    # Their history is evidence of past consent and of leaving: it stays.
    assert Consent.objects.filter(subscriber=person).count() == 2


def test_no_confirmation_email_goes_to_an_address_that_bounced_since(lists):
    result = subscribe(email="ana@example.org", lists=["peru"], source=Consent.Source.FORM)
    suppress(email="ana@example.org", reason=Suppression.Reason.BOUNCED)
    mail.outbox.clear()
    assert tasks.send_confirmation_email(result.subscriber.pk, result.consent.pk) is False
    assert mail.outbox == []
