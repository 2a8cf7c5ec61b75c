"""A campaign sent over real SMTP by a real worker, then its bounce returned to the VERP address and ingested."""

from __future__ import annotations

import pytest

from campaigns import lifecycle
from campaigns.events.bounces import verp
from campaigns.models import Campaign, Delivery, DeliveryEvent
from subscribers.models import Subscriber
from subscribers.services.leaving import is_suppressed
from tests.support import bounce_samples
from tests.support.bounce_samples import ingest_bounce
from tests.support.factories import make_campaign, make_list, make_people
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_each_message_has_its_own_bounce_address_and_its_bounce_suppresses_the_reader(
    celery_worker_process, smtp_server
):
    peru = make_list()
    people = make_people(5, peru)
    campaign = make_campaign([peru], subject="Water defenders detained")

    lifecycle.start(campaign=campaign, actor=None)
    wait_until(lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT, timeout=90, message="sent")
    smtp_server.wait_for(5)

    envelopes = dict((rcpt[0], mail_from) for mail_from, rcpt in smtp_server.handler.envelopes)
    deliveries = {
        d.subscriber.email: d for d in Delivery.objects.filter(campaign=campaign).select_related("subscriber")
    }
    for person in people:
        mail_from = envelopes[person.email]
        assert mail_from.startswith("bounces+") and mail_from.endswith("@tocsin.example.org")
        assert verp.delivery_ids_in(mail_from) == [deliveries[person.email].pk]
    assert len(set(envelopes.values())) == 5

    gone = people[2].email
    done = ingest_bounce(bounce_samples.render("postfix_hard", verp=envelopes[gone], rcpt=gone))

    assert done.returncode == 0, done.stderr.decode()
    assert is_suppressed(gone)
    assert Subscriber.objects.get(email=gone).status != Subscriber.Status.CONFIRMED
    assert DeliveryEvent.objects.get(campaign=campaign).delivery == deliveries[gone]
    assert not any(is_suppressed(p.email) for p in people if p.email != gone)
