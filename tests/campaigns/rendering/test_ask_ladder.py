"""Suggested amounts in appeal emails: from the reader's last gift, or the organisation's default."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.events.tracking import read_click_token
from campaigns.models import Campaign, SendBatch
from campaigns.sending import engine
from campaigns.sending.audience import snapshot
from campaigns.sending.batching import cut_batches
from campaigns.sending.rendering import CampaignRenderer, render_preview, render_web_version
from donations.models import Donation
from subscribers.models import MailingList, Subscriber, Subscription
from tests.support.factories import make_list, make_people

pytestmark = pytest.mark.django_db

SITE = "https://news.example.org"
DONATE = "https://donate.example.org/give?fund=radio"


@pytest.fixture(autouse=True)
def _site(settings):  # type: ignore[no-untyped-def]
    settings.SITE_URL = SITE
    settings.TOCSIN_DONATION_CURRENCY = "USD"
    settings.TOCSIN_DEFAULT_ASK_LADDER = ["25", "50", "100"]


@pytest.fixture
def radio_list() -> MailingList:
    return MailingList.objects.create(slug="radio", name="Community radio")


def person(mailing_list: MailingList, email: str, **fields) -> Subscriber:  # type: ignore[no-untyped-def]
    subscriber = Subscriber.objects.create(email=email, name="Rosa Mamani", status="confirmed", **fields)
    Subscription.objects.create(subscriber=subscriber, mailing_list=mailing_list)
    return subscriber


def give(subscriber: Subscriber, amount: str, *, day: int, currency: str = "USD") -> None:
    Donation.objects.create(
        subscriber=subscriber,
        amount=Decimal(amount),
        currency=currency,
        donated_at=datetime(2026, 10, day, tzinfo=UTC),
        reference=f"ref-{subscriber.pk}-{day}",
    )


def appeal(lists: list[MailingList], **fields) -> Campaign:  # type: ignore[no-untyped-def]
    values = {
        "kind": Campaign.Kind.APPEAL,
        "subject": "Keep the radio on air",
        "body_markdown": "The community radio needs you.",
        "call_to_action_url": DONATE,
    }
    values.update(fields)
    campaign = Campaign.objects.create(**values)
    campaign.lists.set(lists)
    return campaign


def html_of(message) -> str:  # type: ignore[no-untyped-def]
    return str(message.alternatives[0][0])


def donate_links(body: str) -> list[str]:
    """The donate page links of an HTML part, tracked ones followed to their target."""
    urls = []
    for href in re.findall(r'href="([^"]+)"', body):
        href = html.unescape(href)
        if "/t/c/" in href:
            href = read_click_token(href.rstrip("/").rsplit("/", 1)[1])[1]
        if href.startswith("https://donate.example.org/"):
            urls.append(href)
    return urls


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_a_previous_donor_is_asked_for_amounts_derived_from_their_last_gift(radio_list):
    rosa = person(radio_list, "rosa@example.org")
    give(rosa, "20", day=1)
    give(rosa, "35", day=20)  # the latest gift is the one that counts
    message = CampaignRenderer(appeal([radio_list])).render(subscriber=rosa)
    body = html_of(message)
    for label in ("Give $35", "Give $50", "Give $70", "Other amount"):
        assert label in body
        assert label in message.body
    assert [query_of(url).get("amount") for url in donate_links(body)] == [["35"], ["50"], ["70"], None]


def test_someone_who_never_gave_gets_the_default_ladder(radio_list):
    pedro = person(radio_list, "pedro@example.org")
    message = CampaignRenderer(appeal([radio_list])).render(subscriber=pedro)
    assert "Give $25" in html_of(message) and "Give $100" in html_of(message)
    assert [query_of(url).get("amount") for url in donate_links(html_of(message))] == [["25"], ["50"], ["100"], None]


def test_every_ask_link_carries_amount_currency_and_the_appeals_attribution(radio_list):
    rosa = person(radio_list, "rosa@example.org")
    give(rosa, "40", day=3, currency="EUR")
    campaign = appeal([radio_list])
    message = CampaignRenderer(campaign).render(subscriber=rosa)
    links = donate_links(html_of(message))
    assert len(links) == 4
    for url in links:
        query = query_of(url)
        assert query["fund"] == ["radio"]  # the donate page's own query is kept
        assert query["currency"] == ["EUR"]  # asked in the currency they gave in
        assert query["utm_source"] == ["tocsin"] and query["utm_medium"] == ["email"]
        assert query["utm_campaign"] == [campaign.attribution_code]
        assert query["tocsin_ref"] == [campaign.attribution_code]
    # The text part carries the same links, for mail programs that show no HTML.
    assert f"tocsin_ref={campaign.attribution_code}" in message.body
    assert "amount=60" in message.body and "currency=EUR" in message.body


def test_ask_buttons_are_click_tracked_like_the_other_links(radio_list):
    rosa = person(radio_list, "rosa@example.org")
    message = CampaignRenderer(appeal([radio_list])).render(subscriber=rosa, delivery_id=42)
    tracked = [html.unescape(h) for h in re.findall(r'href="([^"]+/t/c/[^"]+)"', html_of(message))]
    targets = [read_click_token(url.rstrip("/").rsplit("/", 1)[1]) for url in tracked]
    asks = [url for delivery, url in targets if delivery == 42 and url.startswith("https://donate.example.org/")]
    assert len(asks) == 4
    assert not re.findall(r'href="https://donate', html_of(message))


def test_ask_buttons_are_plain_links_when_the_reader_turned_tracking_off(radio_list):
    rosa = person(radio_list, "rosa@example.org", tracking_allowed=False)
    body = html_of(CampaignRenderer(appeal([radio_list])).render(subscriber=rosa, delivery_id=42))
    assert "/t/c/" not in body
    assert len(re.findall(r'href="https://donate\.example\.org/[^"]+"', body)) == 4


def test_a_ladder_passed_in_is_used_without_asking_the_database(radio_list, django_assert_num_queries):
    rosa = person(radio_list, "rosa@example.org")
    give(rosa, "100", day=5)
    renderer = CampaignRenderer(appeal([radio_list]))
    renderer.render(subscriber=rosa, delivery_id=1)  # compiles the template outside the count
    values = renderer.block_values_for([rosa.pk])
    with django_assert_num_queries(0):
        message = renderer.render(subscriber=rosa, delivery_id=2, block_values=values[rosa.pk])
    assert "Give $100" in html_of(message) and "Give $150" in html_of(message) and "Give $200" in html_of(message)


def test_a_bulletin_has_no_ladder(radio_list):
    rosa = person(radio_list, "rosa@example.org")
    give(rosa, "35", day=1)
    bulletin = Campaign.objects.create(
        kind=Campaign.Kind.BULLETIN, subject="This week", body_markdown="News.", call_to_action_url=DONATE
    )
    bulletin.lists.set([radio_list])
    renderer = CampaignRenderer(bulletin)
    assert renderer.block_values_for([rosa.pk]) == {}
    message = renderer.render(subscriber=rosa)
    assert "Give $" not in html_of(message) and "Other amount" not in html_of(message)
    assert "amount=" not in message.body


def test_an_appeal_whose_link_names_an_amount_keeps_that_single_ask(radio_list):
    rosa = person(radio_list, "rosa@example.org")
    give(rosa, "35", day=1)
    campaign = appeal([radio_list], call_to_action_url=DONATE + "&amount=15", call_to_action_text="Give $15")
    body = html_of(CampaignRenderer(campaign).render(subscriber=rosa))
    assert [query_of(url)["amount"] for url in donate_links(body)] == [["15"]]
    assert "Other amount" not in body


def test_previews_and_the_web_version_show_the_default_ladder(radio_list):
    rosa = person(radio_list, "rosa@example.org")
    give(rosa, "35", day=1)
    campaign = appeal([radio_list])
    _subject, preview_html, preview_text = render_preview(campaign)
    assert "Give $25" in preview_html and "Give $25" in preview_text
    web = render_web_version(campaign)
    assert "Give $25" in web and "Give $35" not in web and "/t/c/" not in web


def test_the_sending_engine_gives_each_recipient_their_own_ladder(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    radio = make_list("radio")
    donor, newcomer = make_people(2, radio, prefix="reader")
    give(donor, "35", day=9)
    campaign = appeal([radio], status=Campaign.Status.SENDING)
    snapshot(campaign)
    cut_batches(campaign, size=1000)
    batch = SendBatch.objects.get(campaign=campaign)
    result = engine.run_batch(campaign.pk, batch.first_id, batch.last_id)
    assert result.sent == 2
    by_address = {message.to[0]: message for message in mail.outbox}
    assert "Give $35" in by_address[donor.email].body and "Give $70" in by_address[donor.email].body
    assert "Give $25" in by_address[newcomer.email].body and "Give $35" not in by_address[newcomer.email].body


def test_the_sending_engine_looks_up_gifts_once_per_chunk_not_per_recipient(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    radio = make_list("radio")
    people = make_people(6, radio, prefix="reader")
    for day, donor in enumerate(people[:3], start=1):
        give(donor, "20", day=day)
    campaign = appeal([radio], status=Campaign.Status.SENDING)
    snapshot(campaign)
    cut_batches(campaign, size=1000)
    batch = SendBatch.objects.get(campaign=campaign)
    with CaptureQueriesContext(connection) as queries:
        result = engine.run_batch(campaign.pk, batch.first_id, batch.last_id, threads=1)
    assert result.sent == 6
    gift_lookups = [q["sql"] for q in queries.captured_queries if Donation._meta.db_table in q["sql"]]
    assert len(gift_lookups) == 1
