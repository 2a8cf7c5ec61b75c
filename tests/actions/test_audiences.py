"""Audiences by action: campaigns that leave out people who signed, or address only them."""

from __future__ import annotations

import pytest

from actions.models import ActedAudience, Signature
from campaigns.models import Campaign, Delivery
from campaigns.sending.audience import count_audience, snapshot
from subscribers.models import MailingList, Subscriber, Subscription
from tests.support.factories import campaign, petition
from tests.support.forms import form_data
from tests.support.personas import bearer, staff, token_for, verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():  # type: ignore[no-untyped-def]
    """Ana signed the petition as a subscriber; Ben signed it with his address before subscribing; Cy signed
    another action; Dee signed nothing."""
    alerts = MailingList.objects.create(slug="alerts", name="Alerts")
    found = {}
    for name in ("ana", "ben", "cy", "dee"):
        person = Subscriber.objects.create(email=f"{name}@example.org", name=name.title(), status="confirmed")
        Subscription.objects.create(subscriber=person, mailing_list=alerts)
        found[name] = person
    stop, other = petition(), petition("other-petition")
    Signature.objects.create(action=stop, email="ana@example.org", name="Ana", subscriber=found["ana"])
    Signature.objects.create(action=stop, email="ben@example.org", name="Ben")  # no subscriber row then
    Signature.objects.create(action=other, email="cy@example.org", name="Cy", subscriber=found["cy"])
    return {"alerts": alerts, "stop": stop, "other": other, **found}


def alert(people, *, exclude=(), only=()):  # type: ignore[no-untyped-def]
    made = campaign(kind=Campaign.Kind.ALERT, lists=[people["alerts"]])
    if exclude or only:
        audience = ActedAudience.objects.create(campaign=made)
        audience.exclude_acted.set(exclude)
        audience.only_acted.set(only)
    return made


def recipients(made: Campaign) -> set[str]:
    return set(Delivery.objects.filter(campaign=made).values_list("subscriber__email", flat=True))


def test_exclude_acted_leaves_out_signers_by_subscriber_or_by_address(people):
    made = alert(people, exclude=[people["stop"]])
    assert count_audience(made) == 2
    assert snapshot(made) == 2
    assert recipients(made) == {"cy@example.org", "dee@example.org"}


def test_only_acted_addresses_only_the_signers(people):
    made = alert(people, only=[people["stop"], people["other"]])
    assert count_audience(made) == 3
    snapshot(made)
    assert recipients(made) == {"ana@example.org", "ben@example.org", "cy@example.org"}


def test_both_rules_together_and_no_rule_at_all(people):
    assert count_audience(alert(people)) == 4
    assert count_audience(alert(people, exclude=[people["stop"]], only=[people["other"]])) == 1


def test_the_api_takes_exclude_acted_and_only_acted(client, people):
    token = token_for(staff("ada", "admin"))
    body = {"kind": "alert", "subject": "Act", "body_markdown": "Now.", "lists": ["alerts"]}

    made = client.post(
        "/api/v1/campaigns",
        {**body, "exclude_acted": ["stop-the-mine"]},
        content_type="application/json",
        **bearer(token),
    )

    assert made.status_code == 201, made.content
    detail = client.get(f"/api/v1/campaigns/{made.json()['id']}", **bearer(token)).json()
    assert detail["counts"]["recipients"] == 2
    only = client.post(
        "/api/v1/campaigns",
        {**body, "only_acted": ["other-petition"]},
        content_type="application/json",
        **bearer(token),
    )
    assert client.get(f"/api/v1/campaigns/{only.json()['id']}", **bearer(token)).json()["counts"]["recipients"] == 1


def test_the_campaign_reads_back_the_actions_it_leaves_out_or_addresses(client, people):
    token = token_for(staff("ada", "admin"))
    body = {"kind": "alert", "subject": "Act", "body_markdown": "Now.", "lists": ["alerts"]}
    both = {**body, "exclude_acted": ["stop-the-mine"], "only_acted": ["other-petition", "stop-the-mine"]}

    made = client.post("/api/v1/campaigns", both, content_type="application/json", **bearer(token))
    plain = client.post("/api/v1/campaigns", body, content_type="application/json", **bearer(token))

    detail = client.get(f"/api/v1/campaigns/{made.json()['id']}", **bearer(token)).json()
    assert (detail["exclude_acted"], detail["only_acted"]) == (["stop-the-mine"], ["other-petition", "stop-the-mine"])
    detail = client.get(f"/api/v1/campaigns/{plain.json()['id']}", **bearer(token)).json()
    assert (detail["exclude_acted"], detail["only_acted"]) == ([], [])
    document = client.get("/api/v1/openapi.json").json()
    assert {"exclude_acted", "only_acted"} <= set(document["components"]["schemas"]["CampaignOut"]["properties"])


def test_an_unknown_action_is_a_400_and_nothing_is_written(client, people):
    token = token_for(staff("ada", "admin"))
    body = {"kind": "alert", "subject": "Act", "body_markdown": "Now.", "lists": ["alerts"], "exclude_acted": ["nope"]}
    response = client.post("/api/v1/campaigns", body, content_type="application/json", **bearer(token))
    assert response.status_code == 400 and "nope" in response.json()["errors"]["exclude_acted"][0]
    assert not Campaign.objects.exists()


def test_the_send_page_shows_the_count_and_who_the_rules_leave_out(client, people):
    made = alert(people, exclude=[people["stop"]])
    verified(client, staff("sara", "sender"))
    page = client.get(f"/admin/campaigns/campaign/{made.pk}/send/").content.decode()
    assert "2 people are left out by the audience by action" in page
    assert "Stop the open-pit mine" in page


def test_a_writer_sets_the_audience_by_action_in_the_campaign_form(client, people):
    writer = staff("wendy", "writer")
    client.force_login(writer)
    data = form_data(
        kind="alert",
        lists=[str(people["alerts"].pk)],
        **{
            "acted_audience-TOTAL_FORMS": "1",
            "acted_audience-0-exclude_acted": [str(people["stop"].pk)],
        },
    )
    response = client.post("/admin/campaigns/campaign/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    made = Campaign.objects.get()
    assert list(made.acted_audience.exclude_acted.all()) == [people["stop"]]
    assert count_audience(made) == 2
    assert "Audience by action" in client.get(f"/admin/campaigns/campaign/{made.pk}/change/").content.decode()
