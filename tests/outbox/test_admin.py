"""The outbox's admin page: operators see what waits for the broker and why, and can hand stuck rows over.

Read-only: rows are written by the code that changes something (outbox.relay.enqueue),
never by staff. The broker is a redis-server of the test's own, really stopped.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from outbox.models import OutboxMessage
from tests.support.outages import celery_broker_at, own_redis
from tests.support.personas import admin, sender, verified

pytestmark = pytest.mark.django_db

LIST = "/admin/outbox/outboxmessage/"


@pytest.fixture
def broker(tmp_path):
    with own_redis(tmp_path / "redis") as server, celery_broker_at(server.url):
        yield server


def stuck(task: str = "subscribers.tasks.send_welcome_email", **fields) -> OutboxMessage:  # type: ignore[no-untyped-def]
    fields.setdefault("attempts", 3)
    fields.setdefault("last_error", "Error 111 connecting to 127.0.0.1:6399. Connection refused.")
    return OutboxMessage.objects.create(task=task, args=[7], **fields)


def results(page: str) -> str:
    """The list's table, without the filters beside it."""
    start = page.index('id="result_list"')
    return page[start : page.index("</table>", start)]


def test_operators_see_each_row_with_its_task_state_attempts_and_last_error(client):
    stuck()
    OutboxMessage.objects.create(task="campaigns.tasks.send_batch", args=[1], attempts=1, sent_at=timezone.now())
    verified(client, admin())

    page = client.get(LIST).content.decode()

    assert "subscribers.tasks.send_welcome_email" in page and "campaigns.tasks.send_batch" in page
    assert "Connection refused" in page
    assert "Waiting" in page and "Handed to the broker" in page
    assert "Relay now" in page
    filtered = results(client.get(LIST, {"state": "waiting"}).content.decode())
    assert "send_welcome_email" in filtered and "send_batch" not in filtered


def test_the_page_is_in_french_for_french_staff(client):
    stuck()
    verified(client, admin())

    page = client.get(LIST, headers={"accept-language": "fr"}).content.decode()

    assert "En attente" in page
    assert "Relayer maintenant" in page
    assert "Dernière erreur" in page


def test_nobody_adds_or_edits_a_row(client):
    row = stuck()
    verified(client, admin())

    assert client.get(f"{LIST}add/").status_code == 403
    change = client.get(f"{LIST}{row.pk}/change/")
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    client.post(f"{LIST}{row.pk}/change/", {"task": "evil.task"})
    assert OutboxMessage.objects.get().task == "subscribers.tasks.send_welcome_email"


def test_staff_outside_operations_do_not_see_the_outbox(client):
    stuck()
    verified(client, sender())

    assert client.get(LIST).status_code == 403
    assert "/admin/outbox/" not in client.get("/admin/").content.decode()


def test_relay_now_hands_stuck_rows_to_the_broker(client, broker):
    row = stuck()
    verified(client, admin())

    response = client.post(LIST, {"action": "relay_now", "_selected_action": [row.pk]}, follow=True)

    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 4
    assert "1 task call handed to the broker" in response.content.decode()


def test_relay_now_with_the_broker_down_says_so_and_keeps_the_row(client, broker):
    row = stuck()
    broker.stop()
    verified(client, admin())

    response = client.post(LIST, {"action": "relay_now", "_selected_action": [row.pk]}, follow=True)

    row.refresh_from_db()
    assert row.sent_at is None and row.attempts == 4 and row.claim == ""
    assert "The broker refused" in response.content.decode()
