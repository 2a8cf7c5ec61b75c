"""An endpoint failing for a day is disabled, its waiting deliveries failed, and staff are told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from campaigns.staff.roles import ADMIN, WRITER
from integrations import delivering, health, recording, services
from integrations.models import Endpoint, WebhookDelivery
from outbox.models import OutboxMessage
from tests.support.personas import staff
from tests.support.webhook_receiver import Reply

pytestmark = pytest.mark.django_db

S = WebhookDelivery.Status


def two_deliveries(endpoint: Endpoint) -> list[WebhookDelivery]:
    return [recording.record("webhook.test", {"id": n}, endpoints=[endpoint])[0] for n in (1, 2)]


def test_a_first_failure_starts_the_run_and_a_success_ends_it(endpoint, receiver):
    receiver.answer(Reply(500), Reply(200))
    first, second = two_deliveries(endpoint)

    delivering.deliver(first.pk)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None and endpoint.active

    delivering.deliver(second.pk)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.active


def test_an_endpoint_failing_for_a_day_is_disabled_and_staff_are_told(endpoint, receiver):
    admin_user, writer = staff("ada", ADMIN), staff("wes", WRITER)
    receiver.answer(Reply(500, "down"))
    first, second = two_deliveries(endpoint)
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(hours=24, minutes=5))

    delivering.deliver(first.pk)

    endpoint.refresh_from_db()
    assert not endpoint.active
    assert endpoint.disabled_at is not None and "24 hours" in endpoint.disabled_reason
    second.refresh_from_db()
    assert second.status == S.FAILED and second.last_error
    assert delivering.deliver(second.pk) is None
    # New events are not written for it any more.
    assert recording.subscribed("webhook.test") == []
    # Staff are told through the outbox, in the same transaction as the disabling.
    message = OutboxMessage.objects.get(task=health.TELL_STAFF_TASK)
    assert message.args == [endpoint.pk]

    assert health.tell_staff_endpoint_disabled(endpoint_id=endpoint.pk) == 1
    [email] = mail.outbox
    assert email.to == [admin_user.email] and writer.email not in email.to
    assert endpoint.url in email.subject
    assert f"/admin/integrations/endpoint/{endpoint.pk}/change/" in email.body


def test_disabling_twice_tells_staff_once(endpoint):
    assert health.disable(endpoint, reason="manual")
    assert not health.disable(endpoint, reason="manual")
    assert OutboxMessage.objects.filter(task=health.TELL_STAFF_TASK).count() == 1


def test_re_enabling_sends_again_and_retry_now_resends_the_failed(endpoint, receiver):
    delivery = two_deliveries(endpoint)[0]
    health.disable(endpoint, reason="down")
    endpoint.refresh_from_db()

    assert services.retry_now([WebhookDelivery.objects.select_related("endpoint").get(pk=delivery.pk)]) == 0
    assert services.reenable(endpoint, actor=staff("ada", ADMIN))
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.failing_since is None and endpoint.disabled_reason == ""
    assert services.retry_now(WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery.pk)) == 1
    delivery.refresh_from_db()
    assert delivery.status == S.PENDING

    assert delivering.deliver(delivery.pk).ok
    receiver.wait_for(1)[0].verify(endpoint.secret)


def test_an_email_is_not_sent_for_an_endpoint_re_enabled_meanwhile(endpoint):
    staff("ada", ADMIN)
    health.disable(endpoint, reason="down")
    health.enable(endpoint)

    assert health.tell_staff_endpoint_disabled(endpoint_id=endpoint.pk) == 0
    assert mail.outbox == []
