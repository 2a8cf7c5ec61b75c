"""A campaign that links to an action page gives each recipient a personal link.

GET of the link shows the action, the reader's name as Tocsin has it and one
button, and changes nothing (mail scanners open links); the button's POST
signs with the subscriber's own details.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail

from actions.models import Letter, Signature
from actions.personal import personal_url, read_token
from campaigns.models import Campaign, Delivery, DeliveryEvent
from campaigns.reports.figures import campaign_report
from campaigns.sending.rendering import CampaignRenderer, render_web_version
from subscribers.models import MailingList, Subscriber, Subscription
from tests.support.factories import letter, petition, riding_map

pytestmark = pytest.mark.django_db

SITE = "https://news.example.org"


@pytest.fixture(autouse=True)
def _site(settings):  # type: ignore[no-untyped-def]
    settings.SITE_URL = SITE
    settings.ALLOWED_HOSTS = ["news.example.org", "testserver"]


@pytest.fixture
def alerts() -> MailingList:
    return MailingList.objects.create(slug="alerts", name="Urgent alerts")


def person(alerts: MailingList, email: str = "lucia@example.org", name: str = "Lucía Quispe", **fields) -> Subscriber:  # type: ignore[no-untyped-def]
    made = Subscriber.objects.create(email=email, name=name, status="confirmed", **fields)
    Subscription.objects.create(subscriber=made, mailing_list=alerts)
    return made


def alert(alerts: MailingList, body: str) -> Campaign:
    campaign = Campaign.objects.create(kind=Campaign.Kind.ALERT, subject="Act today", body_markdown=body)
    campaign.lists.set([alerts])
    return campaign


def main_of(response) -> str:  # type: ignore[no-untyped-def]
    """The page without the site's footer (whose language switcher has a button of its own)."""
    return response.content.decode().split("<footer", 1)[0]


def links_in(message) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'href="([^"]+)"', str(message.alternatives[0][0]))


def personal_link_in(message) -> str:  # type: ignore[no-untyped-def]
    [url] = [u for u in links_in(message) if "/you/" in u]
    return url.replace("&amp;", "&")


def test_each_recipient_gets_their_own_signed_link_in_html_and_text(alerts):
    action = petition()
    lucia, mateo = person(alerts), person(alerts, "mateo@example.org", "Mateo")
    campaign = alert(alerts, "Sign [the petition](/act/stop-the-mine/) now. Also [read more](https://example.net/x).")
    renderer = CampaignRenderer(campaign)

    first = renderer.render(subscriber=lucia, delivery_id=1)
    second = renderer.render(subscriber=mateo, delivery_id=2)

    one, two = personal_link_in(first), personal_link_in(second)
    assert one != two and one.startswith(f"{SITE}/act/stop-the-mine/you/")
    assert one in first.body and two in second.body  # the text part too
    assert f"{SITE}/act/stop-the-mine/)" not in first.body
    token = one.rstrip("/").rsplit("/", 1)[1]
    reader = read_token(action, token)
    assert reader is not None and reader.subscriber == lucia and reader.campaign_id == campaign.pk
    # Never wrapped by the click redirect: the report's top links must not list one row per reader.
    assert not any("/t/c/" in url and "stop-the-mine" in url for url in links_in(first))


def test_the_web_version_and_a_preview_keep_the_plain_link(alerts):
    petition()
    campaign = alert(alerts, "Sign [the petition](/act/stop-the-mine/).")
    assert "/you/" not in render_web_version(campaign)
    sample = Subscriber(pk=0, email="reader@example.org", name="Alex")
    assert "/you/" not in str(CampaignRenderer(campaign).render(subscriber=sample).alternatives[0][0])


def test_a_link_to_something_else_on_the_site_or_an_unknown_action_stays_as_it_is(alerts):
    petition()
    lucia = person(alerts)
    campaign = alert(alerts, "[Unknown](/act/no-such-action/) · [thanks](/act/stop-the-mine/thanks/)")
    message = CampaignRenderer(campaign).render(subscriber=lucia)
    assert not any("/you/" in url for url in links_in(message))


def test_opening_the_link_shows_one_button_and_the_name_and_signs_nothing(client, alerts):
    action = petition()
    lucia = person(alerts)
    url = personal_url(action, subscriber_id=lucia.pk)

    response = client.get(url)
    again = client.head(url)

    assert response.status_code == 200 and again.status_code == 200
    html = main_of(response)
    assert "Lucía Quispe" in html and "l•••@example.org" in html
    assert len(re.findall(r"<button\b", html)) == 1
    assert 'name="email"' not in html and 'name="name"' not in html
    assert Signature.objects.count() == 0 and not mail.outbox


def test_pressing_the_button_signs_with_the_subscribers_details(client, alerts):
    action = petition()
    lucia = person(alerts)
    campaign = alert(alerts, "x")
    url = personal_url(action, subscriber_id=lucia.pk, campaign_id=campaign.pk)

    response = client.post(url, {})

    assert response.status_code == 303 and "/act/stop-the-mine/thanks/" in response["Location"]
    signature = Signature.objects.get()
    assert (signature.email, signature.name, signature.subscriber) == ("lucia@example.org", "Lucía Quispe", lucia)
    assert signature.source == Signature.Source.LINK and signature.campaign == campaign
    # A second press (or a reload) signs nothing more and says so kindly.
    repeat = client.post(url, {})
    assert repeat.status_code == 200 and "already" in repeat.content.decode()
    assert Signature.objects.count() == 1


def test_a_letter_asks_for_the_postal_code_only_when_tocsin_does_not_know_it(client, alerts):
    ridings = riding_map()
    action = letter()
    lucia = person(alerts)
    url = personal_url(action, subscriber_id=lucia.pk)

    page = client.get(url).content.decode()
    assert re.search(r'<input type="text" name="postal_code"[^>]*required', page)

    missing = client.post(url, {"postal_code": ""})
    assert missing.status_code == 400 and Signature.objects.count() == 0
    bad = client.post(url, {"postal_code": "ZZZ"})
    assert bad.status_code == 400 and Signature.objects.count() == 0

    assert client.post(url, {"postal_code": "k1a 0b1"}).status_code == 303
    signature = Signature.objects.get()
    assert signature.postal_code == "K1A 0B1" and signature.district == ridings["north"]
    assert [letter.target for letter in Letter.objects.all()] == [ridings["mp_north"]]


def test_a_known_postal_code_is_not_asked_again(client, alerts):
    ridings = riding_map()
    Signature.objects.create(action=petition(), email="lucia@example.org", name="Lucía", postal_code="K1A 0B1")
    action = letter()
    lucia = person(alerts)
    url = personal_url(action, subscriber_id=lucia.pk)

    page = client.get(url).content.decode()
    assert re.search(r'<input type="hidden" name="postal_code" value="K1A 0B1"', page)

    assert client.post(url, {"postal_code": "K1A 0B1"}).status_code == 303
    assert Letter.objects.get().target == ridings["mp_north"]


def test_an_ambiguous_postal_code_goes_through_the_district_step(client, alerts):
    ridings = riding_map()
    action = letter()
    lucia = person(alerts)
    url = personal_url(action, subscriber_id=lucia.pk)

    step = client.post(url, {"postal_code": "K2B 1A1"})
    assert step.status_code == 200 and Signature.objects.count() == 0
    signed = re.search(r'name="signed" value="([^"]+)"', step.content.decode()).group(1)
    done = client.post(url, {"signed": signed, "district": ridings["west"].code})
    assert done.status_code == 303
    signature = Signature.objects.get()
    assert signature.district == ridings["west"] and signature.source == Signature.Source.LINK


def test_a_subscriber_without_a_name_is_asked_for_one(client, alerts):
    action = petition()
    nameless = person(alerts, name="")
    url = personal_url(action, subscriber_id=nameless.pk)
    assert 'name="name"' in client.get(url).content.decode()
    assert client.post(url, {"name": ""}).status_code == 400
    assert client.post(url, {"name": "Rosa"}).status_code == 303
    assert Signature.objects.get().name == "Rosa"


def test_a_tampered_token_or_another_actions_token_is_refused(client, alerts):
    stop, other = petition(), petition("other-petition")
    lucia = person(alerts)
    url = personal_url(stop, subscriber_id=lucia.pk)
    token = url.rstrip("/").rsplit("/", 1)[1]
    for bad in (
        url[:-3] + "xx/",
        f"/act/other-petition/you/{token}/",
        "/act/stop-the-mine/you/" + "a" * 300 + "/",
    ):
        assert client.get(bad).status_code == 404
        assert client.post(bad, {}).status_code == 404
    assert Signature.objects.count() == 0 and other.signatures.count() == 0


def test_an_erased_subscribers_link_no_longer_works(client, alerts):
    action = petition()
    lucia = person(alerts)
    url = personal_url(action, subscriber_id=lucia.pk)
    Subscriber.objects.filter(pk=lucia.pk).update(status=Subscriber.Status.ERASED)
    assert client.get(url).status_code == 404


def test_the_page_is_in_the_subscribers_language(client, alerts):
    action = petition()
    rosa = person(alerts, "rosa@example.org", "Rosa", language="es")
    response = client.get(personal_url(action, subscriber_id=rosa.pk), HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Language"] == "es"
    assert "Firmar la petición" in response.content.decode()


def test_a_closed_action_shows_no_button(client, alerts):
    action = petition(status="closed")
    lucia = person(alerts)
    response = client.get(personal_url(action, subscriber_id=lucia.pk))
    assert "<button" not in main_of(response) and "closed" in main_of(response)
    assert client.post(personal_url(action, subscriber_id=lucia.pk), {}).status_code == 409


# --- clicks in the campaign's report --------------------------------------------------------------


def test_opening_the_link_counts_once_as_a_click_of_the_campaign(client, alerts):
    action = petition()
    lucia, mateo = person(alerts), person(alerts, "mateo@example.org", "Mateo")
    campaign = alert(alerts, "Sign [the petition](/act/stop-the-mine/).")
    for reader in (lucia, mateo):
        Delivery.objects.create(campaign=campaign, subscriber=reader, status="sent")
    url = personal_url(action, subscriber_id=lucia.pk, campaign_id=campaign.pk)

    client.head(url)  # a link scanner's HEAD is not a reader
    assert campaign_report(campaign).unique_clicks == 0
    client.get(url)
    client.get(url)

    report = campaign_report(campaign)
    assert report.unique_clicks == 1
    assert [link["url"] for link in report.top_links] == [f"{SITE}/act/stop-the-mine/"]  # one row, not one per reader
    assert Signature.objects.count() == 0


def test_a_reader_who_turned_tracking_off_is_not_counted_as_a_click(client, alerts):
    action = petition()
    lucia = person(alerts, tracking_allowed=False)
    campaign = alert(alerts, "Sign [the petition](/act/stop-the-mine/).")
    Delivery.objects.create(campaign=campaign, subscriber=lucia, status="sent")

    assert client.get(personal_url(action, subscriber_id=lucia.pk, campaign_id=campaign.pk)).status_code == 200

    assert not DeliveryEvent.objects.exists()


def test_a_letter_asking_for_the_postal_code_also_takes_a_city(client, alerts):
    riding_map()
    action = letter()
    lucia = person(alerts)
    url = personal_url(action, subscriber_id=lucia.pk)

    assert 'name="city"' in client.get(url).content.decode()
    assert client.post(url, {"postal_code": "K1A 0B1", "city": "Vanier"}).status_code == 303
    assert Signature.objects.get().city == "Vanier"
