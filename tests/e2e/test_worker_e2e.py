"""The end-to-end fixtures themselves: a real worker reads our test database and mails over SMTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from subscribers import tasks
from subscribers.models import MailingList, Subscriber, Subscription
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("queue", ["default", "bulk", "urgent"])
def test_the_worker_serves_every_queue_against_the_test_database(celery_worker_process, queue):
    stale = Subscriber.objects.create(
        email=f"stale-{queue}@example.org", created_at=timezone.now() - timedelta(days=400)
    )

    tasks.purge_unconfirmed.apply_async(queue=queue)

    wait_until(lambda: not Subscriber.objects.filter(pk=stale.pk).exists(), message="the purge")


def test_an_email_the_worker_sends_arrives_at_the_smtp_server(celery_worker_process, smtp_server):
    peru = MailingList.objects.create(slug="peru", name="Peru")
    person = Subscriber.objects.create(
        email="ana@example.org", name="Ana", status=Subscriber.Status.CONFIRMED, confirmed_at=timezone.now()
    )
    Subscription.objects.create(subscriber=person, mailing_list=peru)

    tasks.send_welcome_email.delay(person.pk)

    [message] = smtp_server.wait_for(1)
    assert message["To"] == "ana@example.org"
    assert message.get_body(preferencelist=("plain",)) is not None
    assert message.get_body(preferencelist=("html",)) is not None
