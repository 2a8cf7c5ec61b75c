"""A test digest from the action's admin page: a sample of one target's daily digest, to staff; it changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.urls import reverse

from actions import services
from actions.models import Action, Letter, LetterDigest
from campaigns.models import AuditLog
from campaigns.staff.roles import SENDER, WRITER
from tests.support.factories import letter, riding_map, target
from tests.support.factories import petition as make_petition
from tests.support.personas import staff, verified
from tests.support.smtp import collecting_server

pytestmark = pytest.mark.django_db
L = Letter.Status


@pytest.fixture
def sender(client):  # type: ignore[no-untyped-def]
    return verified(client, staff("sam", SENDER))


@pytest.fixture
def digest_action(db):  # type: ignore[no-untyped-def]
    maps = riding_map()
    action = letter(delivery_mode=Action.DeliveryMode.DIGEST, digest_hour=17, test_email="tests@ngo.example")
    for n in range(2):
        services.sign(
            action=action,
            email=f"p{n}@example.org",
            name=f"Person {n}",
            postal_code="K1A 0B1",
            message=f"My own words, number {n}.",
        )
    return action, maps


def ledger() -> list[tuple[Any, ...]]:
    """Everything a send would change on letters and digests."""
    rows = Letter.objects.order_by("id").values_list(
        "id", "status", "attempts", "claimed_at", "sent_at", "not_before", "lease_until", "digest_id", "error"
    )
    return [*rows, ("digests", LetterDigest.objects.count())]


def send_test(client, action: Action, **data: str):  # type: ignore[no-untyped-def]
    return client.post(reverse("admin:actions_action_test_digest", args=[action.pk]), data)


def test_a_sender_gets_a_sample_of_the_targets_digest_built_from_its_waiting_letters(sender, digest_action):
    action, maps = digest_action
    before = ledger()
    response = send_test(sender, action, test_digest_target=str(maps["mp_north"].pk), test_digest_to="me")
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == ["sam@staff.example.org"]
    assert message.subject == (
        "[TEST] 2 letters from constituents: Ask your MP to back binding rules for mining companies abroad"
    )
    body = str(message.body)
    assert "My own words, number 0." in body and "My own words, number 1." in body
    assert "Ana Tremblay <ana.tremblay@parl.example>" in body  # whose digest this is a sample of
    assert "sample letters" not in body  # the real letters, not made-up ones
    assert ledger() == before  # nothing marked sent, nothing claimed, no digest written
    log = AuditLog.objects.get(action="test-sent")
    assert "test digest" in log.detail and action.slug in log.detail and "sam@staff.example.org" in log.detail


def test_without_waiting_letters_the_sample_uses_sample_letters(sender, db):
    riding_map()
    minister = target("Minister of Mines", "minister@gov.example", groups=())
    action = letter(fixed=[minister], test_email="tests@ngo.example")
    send_test(sender, action, test_digest_target=str(minister.pk), test_digest_to="test_address")
    (message,) = mail.outbox
    assert message.to == ["tests@ngo.example"]
    assert message.subject.startswith("[TEST] 3 letters from constituents")
    assert "Binding rules for Canadian mining companies abroad" in str(message.body)
    assert "sample letters" in str(message.body)
    assert not Letter.objects.exists() and not LetterDigest.objects.exists()


def test_the_html_part_says_it_is_a_test_and_for_whom(sender, digest_action):
    action, maps = digest_action
    send_test(sender, action, test_digest_target=str(maps["mp_north"].pk), test_digest_to="me")
    html = mail.outbox[0].alternatives[0][0]
    assert "TEST:" in html and "Ana Tremblay" in html and "My own words, number 1." in html


def test_the_test_digest_goes_through_real_smtp(sender, digest_action, settings):
    action, maps = digest_action
    with collecting_server() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        send_test(sender, action, test_digest_target=str(maps["mp_north"].pk), test_digest_to="me")
        (received,) = server.wait_for(1)
    assert received["To"] == "sam@staff.example.org"
    assert str(received["Subject"]).startswith("[TEST] 2 letters from constituents")
    assert Letter.objects.filter(status=L.PENDING).count() == 2


def test_a_writer_may_not_send_a_test_digest_nor_sees_the_button(client, digest_action):
    action, maps = digest_action
    writer = verified(client, staff("wren", WRITER))
    page = writer.get(reverse("admin:actions_action_change", args=[action.pk])).content.decode()
    assert "Send a test digest" not in page
    response = send_test(writer, action, test_digest_target=str(maps["mp_north"].pk), test_digest_to="me")
    assert response.status_code == 403
    assert not mail.outbox


def test_a_sender_sees_the_button_with_the_targets_that_have_letters_waiting(sender, digest_action):
    action, _maps = digest_action
    page = sender.get(reverse("admin:actions_action_change", args=[action.pk])).content.decode()
    assert "Send a test digest" in page
    assert "Ana Tremblay (2 waiting)" in page


@pytest.mark.parametrize("target_id", ["abc", "-1", "99999999", "1" * 40, "\x00"])
def test_a_bad_target_is_refused(sender, digest_action, target_id):
    action, _maps = digest_action
    response = send_test(sender, action, test_digest_target=target_id, test_digest_to="me")
    assert response.status_code == 400
    assert not mail.outbox


def test_a_target_of_another_action_is_refused(sender, digest_action):
    action, _maps = digest_action
    stranger = target("Someone Else", "else@gov.example", groups=())
    response = send_test(sender, action, test_digest_target=str(stranger.pk), test_digest_to="me")
    assert response.status_code == 400
    assert not mail.outbox


def test_only_the_senders_own_address_or_the_actions_test_address(sender, digest_action):
    action, maps = digest_action
    response = send_test(sender, action, test_digest_target=str(maps["mp_north"].pk), test_digest_to="x@evil.example")
    assert response.status_code == 400
    assert not mail.outbox


def test_a_get_or_a_petition_is_refused(sender, db):
    action = letter()
    assert sender.get(reverse("admin:actions_action_test_digest", args=[action.pk])).status_code == 405
    petition = make_petition("a-petition")
    assert send_test(sender, petition, test_digest_to="me").status_code == 400
    assert send_test(sender, Action(pk=987654), test_digest_to="me").status_code == 404


def test_the_sample_is_in_the_targets_language_as_its_digest_is(sender, db):
    riding_map()
    ministre = target("Ministre des Mines", "ministre@gouv.example", groups=(), language="fr")
    action = letter(fixed=[ministre])
    send_test(sender, action, test_digest_target=str(ministre.pk), test_digest_to="me")
    (message,) = mail.outbox
    assert message.subject.startswith("[TEST] 3 lettres")
    assert "Un paragraphe d’exemple" in str(message.body)
    html = message.alternatives[0][0]
    assert "Ministre des Mines &lt;ministre@gouv.example&gt;" in html  # no "&lt ;" from French spacing
