"""Choosing among donors (Campaign.donor_rule) from the admin and the API, and the reports it links to."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.api.schema import openapi_schema
from campaigns.models import Campaign
from campaigns.sending.audience import count_audience
from donations.models import Donation
from subscribers.models import MailingList, Subscriber, Subscription
from tests.support import personas
from tests.support.factories import campaign, mailing_list
from tests.support.forms import form_data
from tests.support.personas import bearer, token_for, verified, writer

pytestmark = pytest.mark.django_db

RULES = ["all", "exclude_recent", "lapsed", "never"]


def reader(mailing: MailingList, email: str) -> Subscriber:
    person = Subscriber.objects.create(email=email, status=Subscriber.Status.CONFIRMED, language="en")
    Subscription.objects.create(subscriber=person, mailing_list=mailing)
    return person


def gave(person: Subscriber, *, days_ago: int) -> None:
    Donation.objects.create(
        subscriber=person,
        amount=Decimal("30"),
        currency="USD",
        donated_at=timezone.now() - timedelta(days=days_ago),
        reference=f"gift-{person.pk}-{days_ago}",
    )


@pytest.fixture
def donors_list() -> MailingList:
    """Four readers: one gave last month, one two years ago, two never gave."""
    mailing = mailing_list("defenders")
    gave(reader(mailing, "recent@example.net"), days_ago=30)
    gave(reader(mailing, "lapsed@example.net"), days_ago=700)
    reader(mailing, "never1@example.net")
    reader(mailing, "never2@example.net")
    return mailing


def create(client, token, **fields):  # type: ignore[no-untyped-def]
    body = {"kind": "appeal", "subject": "Legal fund", "body_markdown": "Help.", "lists": ["defenders"], **fields}
    return client.post("/api/v1/campaigns", json.dumps(body), content_type="application/json", **bearer(token))


# --- API ------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "audience"), [("all", 4), ("exclude_recent", 3), ("lapsed", 1), ("never", 2)])
def test_the_api_accepts_a_donor_rule_and_the_audience_count_follows_it(client, donors_list, rule, audience):
    token = token_for(writer())
    response = create(client, token, donor_rule=rule)
    assert response.status_code == 201
    made = Campaign.objects.get(pk=response.json()["id"])
    assert made.donor_rule == rule
    assert count_audience(made) == audience
    detail = client.get(f"/api/v1/campaigns/{made.pk}", **bearer(token)).json()
    assert detail["counts"]["recipients"] == audience


def test_the_api_defaults_to_everyone_and_honours_the_days_with_the_rule(client, donors_list):
    token = token_for(writer())
    made = Campaign.objects.get(pk=create(client, token).json()["id"])
    assert made.donor_rule == "all" and count_audience(made) == 4
    # "Lapsed" with N = 800 days: the gift 700 days ago is recent enough to leave that person out too.
    made = Campaign.objects.get(pk=create(client, token, donor_rule="lapsed", exclude_donors_days=800).json()["id"])
    assert count_audience(made) == 0


@pytest.mark.parametrize("value", ["sometimes", "", 3, ["never"], "NEVER"])
def test_an_unknown_donor_rule_is_a_400_naming_the_field(client, donors_list, value):
    response = create(client, token_for(writer()), donor_rule=value)
    assert response.status_code == 400
    assert "donor_rule" in response.json()["errors"]
    assert not Campaign.objects.exists()


def test_only_appeals_choose_among_donors_through_the_api(client, donors_list):
    response = create(client, token_for(writer()), kind="bulletin", donor_rule="never")
    assert response.status_code == 400
    assert "donor_rule" in response.json()["errors"]


def test_the_openapi_schema_documents_the_donor_rule():
    prop = openapi_schema()["components"]["schemas"]["CampaignInput"]["properties"]["donor_rule"]
    assert prop["enum"] == RULES
    assert [value for value, _label in Campaign._meta.get_field("donor_rule").choices or []] == RULES


# --- Admin ------------------------------------------------------------------------------


@pytest.fixture
def sender(client):  # type: ignore[no-untyped-def]
    user = personas.sender()
    verified(client, user)
    return user


def test_the_campaign_form_offers_the_donor_rules(client, sender):
    page = client.get("/admin/campaigns/campaign/add/").content.decode()
    for rule in RULES:
        assert f'name="donor_rule" value="{rule}"' in page
    assert "Only people who never gave" in page


def test_saving_an_appeal_with_a_donor_rule_changes_its_recipient_count(client, sender, donors_list):
    made = campaign(author=sender, lists=[donors_list], kind="appeal")
    url = f"/admin/campaigns/campaign/{made.pk}/change/"
    data = form_data(kind="appeal", lists=[str(donors_list.pk)], donor_rule="never", subject="Legal fund")
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    made.refresh_from_db()
    assert made.donor_rule == "never"
    page = client.get(url).content.decode()
    assert '<div class="tocsin-big">2</div>' in page
    assert re.search(r'<input[^>]*name="donor_rule" value="never"[^>]*checked', page)


def test_a_form_without_the_donor_rule_means_everyone(client, sender, donors_list):
    made = campaign(author=sender, lists=[donors_list], kind="appeal", donor_rule="never")
    response = client.post(
        f"/admin/campaigns/campaign/{made.pk}/change/", form_data(kind="appeal", lists=[str(donors_list.pk)])
    )
    assert response.status_code == 302
    made.refresh_from_db()
    assert made.donor_rule == "all"


def test_a_bulletin_cannot_choose_among_donors_in_the_admin(client, sender, donors_list):
    # The donor fields are hidden for bulletins; a value left in them is reset, not an error staff cannot see.
    made = campaign(author=sender, lists=[donors_list])
    response = client.post(
        f"/admin/campaigns/campaign/{made.pk}/change/",
        form_data(lists=[str(donors_list.pk)], donor_rule="lapsed"),
    )
    assert response.status_code == 302
    made.refresh_from_db()
    assert made.donor_rule == "all"


# --- Report links on the change page -------------------------------------------------------


def test_a_sent_appeal_links_to_its_delivery_report_and_money_raised(client, donors_list):
    boss = personas.admin()
    verified(client, boss)
    made = campaign(author=boss, lists=[donors_list], kind="appeal", status=Campaign.Status.SENT)
    page = client.get(f"/admin/campaigns/campaign/{made.pk}/change/").content.decode()
    assert f'href="/admin/campaigns/campaign/{made.pk}/report/"' in page
    assert f'href="/admin/donations/donation/appeal/{made.pk}/"' in page
    assert "Money raised" in page and "Delivery report" in page
    assert client.get(f"/admin/donations/donation/appeal/{made.pk}/").status_code == 200
    assert client.get(f"/admin/campaigns/campaign/{made.pk}/report/").status_code == 200


def test_a_sent_bulletin_links_to_its_delivery_report_only(client, sender, donors_list):
    made = campaign(author=sender, lists=[donors_list], status=Campaign.Status.SENT)
    page = client.get(f"/admin/campaigns/campaign/{made.pk}/change/").content.decode()
    assert f'href="/admin/campaigns/campaign/{made.pk}/report/"' in page
    assert "Money raised" not in page


def test_the_money_link_is_shown_only_to_staff_who_may_see_donations(client, sender, donors_list):
    made = campaign(author=sender, lists=[donors_list], kind="appeal", status=Campaign.Status.SENT)
    page = client.get(f"/admin/campaigns/campaign/{made.pk}/change/").content.decode()
    assert "Delivery report" in page
    assert "Money raised" not in page  # senders do not see donations


def test_a_draft_has_no_report_links_yet(client, sender, donors_list):
    made = campaign(author=sender, lists=[donors_list], kind="appeal")
    page = client.get(f"/admin/campaigns/campaign/{made.pk}/change/").content.decode()
    assert f"/campaign/{made.pk}/report/" not in page and "Money raised" not in page
