"""The problem list (failed, bounced, refused, complained recipients) survives a campaign's roll-up."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Delivery, DeliveryEvent, RolledUpProblem
from campaigns.rollup.rolling import roll_up
from subscribers.models import Subscriber
from subscribers.services.privacy import erase, export_personal_data
from tests.support.personas import staff, verified
from tests.support.reports import add_event, roll_up_killed_after_one_batch

pytestmark = pytest.mark.django_db
Kind = DeliveryEvent.Kind


@pytest.fixture
def old_campaign(sent_campaign) -> Campaign:
    """The report's campaign (failed, hard and soft bounce, complaint) plus a refusal quoting the address."""
    p7 = Delivery.objects.get(campaign=sent_campaign, subscriber__email="p7@example.org")
    add_event(p7, Kind.REJECTED, reason="554 5.7.1 <p7@example.org>: refused by policy", hours=3)
    Campaign.objects.filter(pk=sent_campaign.pk).update(finished_at=timezone.now() - timedelta(days=400))
    return Campaign.objects.get(pk=sent_campaign.pk)


@pytest.fixture
def admin_client(client):
    return verified(client, staff("alba", "admin"))


def page_problems(client, campaign: Campaign) -> list[list[str]]:
    page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/report/").content.decode()
    section = page.split("Failed, unknown and bounced deliveries")[1].split("</table>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", section, re.S)[1:]  # the first is the header
    return [[unescape(cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows]


def csv_problems(client, campaign: Campaign) -> list[list[str]]:
    response = client.get(f"/admin/campaigns/campaign/{campaign.pk}/report.csv")
    rows = csv.reader(io.StringIO(b"".join(response.streaming_content).decode()))
    return [row for row in rows if row[0] == "problem"]


def shown(client, campaign: Campaign) -> dict[str, list[list[str]]]:
    return {"page": page_problems(client, campaign), "csv": csv_problems(client, campaign)}


def test_the_problem_list_shows_the_same_people_and_reasons_after_the_roll_up(admin_client, old_campaign):
    before = shown(admin_client, old_campaign)

    roll_up(old_campaign.pk, batch_size=3)

    assert not Delivery.objects.filter(campaign=old_campaign).exists()
    assert shown(admin_client, old_campaign) == before
    people = [row[0] for row in before["page"]]
    assert people == [
        "p0@example.org",
        "p7@example.org",
        "p8@example.org",
        "p9@example.org",
        "=hyperlink(1)@example.org",
    ]
    reasons = {row[1]: row[5] for row in before["csv"]}
    assert reasons["p8@example.org"] == "550 5.1.1 user unknown"
    assert reasons["p7@example.org"] == "554 5.7.1 <p7@example.org>: refused by policy"
    assert reasons["'=hyperlink(1)@example.org"] == "'-550 relay refused"
    assert {row[1]: row[4] for row in before["csv"]}["p0@example.org"] == "complained"
    page = admin_client.get(f"/admin/campaigns/campaign/{old_campaign.pk}/report/").content.decode()
    assert "the list of recipients is no longer kept" not in page


def test_staff_who_may_not_export_still_see_the_rolled_up_reasons_without_addresses(client, old_campaign):
    roll_up(old_campaign.pk)
    verified(client, staff("sara", "sender"))

    rows = page_problems(client, old_campaign)

    assert len(rows) == 5
    assert rows[1][:3] == ["Sent", "Rejected", "554 5.7.1 <(address hidden)>: refused by policy"]
    assert not any("@example.org" in cell for row in rows for cell in row)


def test_an_erased_person_keeps_no_address_in_the_problem_list(admin_client, old_campaign):
    erase(subscriber=Subscriber.objects.get(email="p7@example.org"), actor=None)  # before the roll-up
    roll_up(old_campaign.pk)
    erase(subscriber=Subscriber.objects.get(email="p8@example.org"), actor=None)  # after it

    listed = shown(admin_client, old_campaign)

    text = repr(listed) + repr(list(RolledUpProblem.objects.values()))
    assert "p7@example.org" not in text and "p8@example.org" not in text
    assert len(listed["page"]) == 5  # their problems still count, under the erased placeholder
    assert sum("@erased.invalid" in row[0] for row in listed["page"]) == 2


def test_a_roll_up_stopped_midway_and_resumed_keeps_each_problem_exactly_once(admin_client, old_campaign):
    before = shown(admin_client, old_campaign)
    roll_up_killed_after_one_batch(old_campaign.pk, batch_size=9)  # the first batch holds three of the five problems
    assert RolledUpProblem.objects.filter(campaign=old_campaign).count() == 3
    assert shown(admin_client, old_campaign) == before  # half moved, half still in the ledger: each once

    roll_up(old_campaign.pk, batch_size=9)
    roll_up(old_campaign.pk, batch_size=9)  # a second run finds nothing left to add

    assert RolledUpProblem.objects.filter(campaign=old_campaign).count() == 5
    assert shown(admin_client, old_campaign) == before


def test_a_persons_access_export_still_lists_their_rolled_up_problem(old_campaign):
    roll_up(old_campaign.pk)

    exported = export_personal_data(Subscriber.objects.get(email="p8@example.org"))

    problems = exported["earlier_campaigns_rolled_up"]["problems"]
    assert [(p["campaign"], p["event"], p["reason"]) for p in problems] == [
        (old_campaign.pk, "bounced", "550 5.1.1 user unknown")
    ]


def person_history(client, person: Subscriber) -> list[list[str]]:
    """The lines of 'Problems in earlier campaigns' on the person's admin page."""
    page = client.get(f"/admin/subscribers/subscriber/{person.pk}/change/").content.decode()
    if "Problems in earlier campaigns" not in page:
        return []
    section = page.split("Problems in earlier campaigns")[1].split("<tbody>")[1].split("</table>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", section, re.S)
    return [[unescape(cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows]


def test_a_persons_page_still_shows_their_bounce_after_the_campaign_is_rolled_up(admin_client, old_campaign):
    p8 = Subscriber.objects.get(email="p8@example.org")
    bounced_at = DeliveryEvent.objects.get(delivery__subscriber=p8, kind=Kind.BOUNCED).occurred_at

    roll_up(old_campaign.pk)

    assert not Delivery.objects.filter(subscriber=p8).exists()
    when = timezone.localtime(bounced_at).strftime("%Y-%m-%d %H:%M")
    assert person_history(admin_client, p8) == [
        ["Lithium: the consultation that never was", "Hard bounce", "550 5.1.1 user unknown", when]
    ]
    page = admin_client.get(f"/admin/subscribers/subscriber/{p8.pk}/change/").content.decode()
    assert "Earlier campaigns (rolled up)" in page
    # A complaint stays on its person's page too.
    p0 = Subscriber.objects.get(email="p0@example.org")
    assert [line[:2] for line in person_history(admin_client, p0)] == [
        ["Lithium: the consultation that never was", "Complained"]
    ]


def test_an_erased_persons_page_shows_nothing_of_their_rolled_up_problem(admin_client, old_campaign):
    roll_up(old_campaign.pk)
    p7 = Subscriber.objects.get(email="p7@example.org")

    erase(subscriber=p7, actor=None)

    page = admin_client.get(f"/admin/subscribers/subscriber/{p7.pk}/change/").content.decode()
    assert person_history(admin_client, p7) == []
    assert "refused by policy" not in page and "p7@example.org" not in page
    # The line still counts on the campaign's report, under the erased placeholder.
    assert RolledUpProblem.objects.filter(subscriber=p7).exists()
