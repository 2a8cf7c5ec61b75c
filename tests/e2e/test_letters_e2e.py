"""Letters to targets through a real Celery worker, real Redis and a real SMTP server.

A supporter signs on the public page; the letter is queued when the
signature commits and the worker sends it over SMTP. The sweeper (beat's
job, played here by the test) picks up digests and anything left pending.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage

import pytest
import redis
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from actions.models import Action, Letter, LetterDigest
from actions.tasks import sweep_letters
from tests.support.factories import letter, riding_map, target
from tests.support.smtp import CountingHandler, smtp_on_localhost
from tests.support.waiting import wait_until
from tests.support.workers import start_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
L = Letter.Status


@pytest.fixture(autouse=True)
def _fresh_rate_limits():  # type: ignore[no-untyped-def]
    """Every test here signs from 127.0.0.1: start each with the per-IP counters at zero."""
    cache.clear()


def sign_on_the_page(action: Action, n: int = 0, **extra: str) -> None:
    fields = {
        "name": f"Ana Quispe {n}",
        "email": f"ana{n}@example.org",
        "postal_code": "K1A 0B1",
        "message": "The river is our life.",
        **extra,
    }
    response = Client().post(action.get_absolute_url(), fields)
    assert response.status_code == 303, response.content[:500]


def letters_all(status: str) -> bool:
    return not Letter.objects.exclude(status=status).exists()


def test_a_supporters_letter_reaches_each_target_once_by_smtp(celery_worker_process, smtp_server, settings):
    riding_map()
    minister = target("Minister of Mines", "minister@gov.example", groups=())
    action = letter(fixed=[minister])

    sign_on_the_page(action)

    received: list[EmailMessage] = smtp_server.wait_for(2, timeout=60)
    assert sorted(str(message["To"]) for message in received) == [
        "Ana Tremblay <ana.tremblay@parl.example>",
        "Minister of Mines <minister@gov.example>",
    ]
    for message in received:
        sender = message["From"].addresses[0]
        assert sender.display_name == f"Ana Quispe 0 via {settings.TOCSIN_ORG_NAME}"
        assert sender.addr_spec == "bulletin@tocsin.example.org"
        assert message["Reply-To"].addresses[0].addr_spec == "ana0@example.org"
        assert message["List-Unsubscribe"] is None
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content()
        assert "The river is our life." in text and "K1A 0B1" in text
    wait_until(lambda: letters_all(L.SENT), timeout=30, message="both letters recorded as sent")
    # Each letter's bounces come back to an address naming it (VERP); From above is unchanged.
    bounce_addresses = {envelope[0] for envelope in smtp_server.handler.envelopes}
    assert len(bounce_addresses) == 2
    assert all(address.startswith("bounces+letter-") for address in bounce_addresses)


@pytest.fixture
def flaky_smtp():  # type: ignore[no-untyped-def]
    handler = CountingHandler(delay=0, refuse_first=2)  # "421 try again later" twice
    with smtp_on_localhost(handler) as url:
        yield handler, url


def test_a_letter_refused_for_now_is_retried_with_back_off_and_arrives_once(flaky_smtp, settings):
    handler, url = flaky_smtp
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    riding_map()
    action = letter()
    worker = start_worker(url, "letters-retry", TOCSIN_SEND_RETRY_BASE="0.2", TOCSIN_SEND_RETRY_MAX="1")
    try:
        sign_on_the_page(action)
        wait_until(lambda: letters_all(L.SENT), timeout=60, message="the letter sent after two refusals")
    finally:
        worker.stop()
    assert handler.received == Counter({"ana.tremblay@parl.example": 1})
    sent = Letter.objects.get()
    assert sent.attempts == 3


def test_the_days_digest_goes_to_each_target_as_one_email(celery_worker_process, smtp_server):
    riding_map()
    action = letter(delivery_mode=Action.DeliveryMode.DIGEST, digest_hour=0)
    for n in range(4):
        sign_on_the_page(action, n)
    # Written yesterday: today's digest (hour 0 has come) takes them.
    Letter.objects.update(created_at=timezone.now() - timedelta(days=1))

    sweep_letters()  # what beat does every 15 s

    (message,) = smtp_server.wait_for(1, timeout=60)
    assert str(message["To"]) == "Ana Tremblay <ana.tremblay@parl.example>"
    assert str(message["Subject"]).startswith("4 letters from constituents")
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert all(f"ana{n}@example.org" in text for n in range(4))
    wait_until(lambda: letters_all(L.SENT), timeout=30, message="the digest's letters recorded as sent")
    assert LetterDigest.objects.get().status == L.SENT
    sweep_letters()
    assert len(smtp_server.messages) == 1


def test_in_test_mode_the_letter_goes_to_the_staff_address(celery_worker_process, smtp_server, admin_user):
    riding_map()
    action = letter(status=Action.Status.DRAFT, test_mode=True, test_email="staff@ngo.example")
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        action.get_absolute_url(),
        {"name": "Ana Quispe", "email": "ana@example.org", "postal_code": "K1A 0B1", "message": ""},
    )
    assert response.status_code == 303

    (message,) = smtp_server.wait_for(1, timeout=60)
    assert str(message["To"]) == "staff@ngo.example"
    assert str(message["Subject"]).startswith("[TEST] ")
    assert re.search(r"instead of Ana Tremblay", message.get_body(preferencelist=("plain",)).get_content())  # type: ignore[union-attr]
