"""Sign-up while Redis is stopped: a redis-server of the test's own, really stopped (never the shared one)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core import mail

from outbox.models import OutboxMessage
from subscribers.models import Consent, MailingList, Subscriber
from subscribers.services import subscribe
from subscribers.tokens import confirmation_url
from tests.support.outages import celery_broker_at, own_redis

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_on_stopped_redis(tmp_path, settings):
    before = settings.CACHES
    with own_redis(tmp_path / "redis") as server:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": server.url,
                "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
            }
        }
        server.stop()
        yield
    settings.CACHES = before  # signup_isolation clears the cache after us


@pytest.mark.usefixtures("signup_isolation")
def test_with_redis_stopped_the_page_and_the_embed_sign_people_up_and_the_limit_still_holds(
    client, cache_on_stopped_redis, django_capture_on_commit_callbacks
):
    MailingList.objects.create(slug="peru", name="Peru")

    def sign_up(url: str, email: str):  # type: ignore[no-untyped-def]
        data = {"email": email, "name": "Ana", "lists": ["peru"], "language": "en"}
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    answers = [sign_up("/signup/", f"p{n}@example.org").status_code for n in range(4)]
    answers.append(sign_up("/signup/embed/submit/", "p4@example.org").status_code)
    assert answers == [303] * 5
    assert Subscriber.objects.count() == 5
    assert len(mail.outbox) == 5

    # Counted in this process while Redis is away: the sixth in a minute is still refused.
    refused = sign_up("/signup/embed/submit/", "p5@example.org")
    assert refused.status_code == 429
    assert not Subscriber.objects.filter(email="p5@example.org").exists()


def test_confirming_with_the_broker_stopped_confirms_and_keeps_the_welcome_email(
    client, tmp_path, django_capture_on_commit_callbacks
):
    MailingList.objects.create(slug="peru", name="Peru")
    with own_redis(tmp_path / "redis") as broker, celery_broker_at(broker.url):
        broker.stop()
        with django_capture_on_commit_callbacks(execute=True):
            result = subscribe(email="ana@example.org", lists=["peru"], source=Consent.Source.FORM)
        assert result.subscriber and result.consent
        link = confirmation_url(subscriber_id=result.subscriber.pk, consent_id=result.consent.pk)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(urlsplit(link).path)

    assert response.status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.CONFIRMED
    waiting = OutboxMessage.objects.filter(sent_at__isnull=True).order_by("id")
    assert [(m.task, m.args) for m in waiting] == [
        ("subscribers.tasks.send_confirmation_email", [result.subscriber.pk, result.consent.pk]),
        ("subscribers.tasks.send_welcome_email", [result.subscriber.pk]),
    ]
