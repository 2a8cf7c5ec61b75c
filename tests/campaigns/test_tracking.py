"""First-party click redirect and open pixel, and the privacy switches."""

from __future__ import annotations

import re

import pytest

from campaigns.events.tracking import (
    add_open_pixel,
    click_url,
    open_pixel_url,
    read_click_url,
    rewrite_links,
    tracking_allowed,
)
from campaigns.models import Campaign, DeliveryEvent
from subscribers.models import MailingList, Subscriber
from tests.support.factories import make_delivery

pytestmark = pytest.mark.django_db


def path_of(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_a_click_redirects_to_the_link_and_is_counted_once_per_delivery_and_link(client):
    delivery = make_delivery()
    link = click_url(delivery_id=delivery.pk, url="https://example.org/report?id=7&lang=es")

    first = client.get(path_of(link))
    second = client.get(path_of(link))
    other = client.get(path_of(click_url(delivery_id=delivery.pk, url="https://example.org/donate")))

    assert first.status_code == 302 and first["Location"] == "https://example.org/report?id=7&lang=es"
    assert second.status_code == 302 and other.status_code == 302
    clicks = DeliveryEvent.objects.filter(kind=DeliveryEvent.Kind.CLICKED, delivery=delivery)
    assert sorted(clicks.values_list("url", flat=True)) == [
        "https://example.org/donate",
        "https://example.org/report?id=7&lang=es",
    ]
    assert clicks.first().campaign == delivery.campaign


def test_a_tampered_click_link_is_a_400_and_never_redirects(client):
    delivery = make_delivery()
    link = path_of(click_url(delivery_id=delivery.pk, url="https://example.org/"))
    token = link.split("/")[3]
    forged_token = click_url(delivery_id=delivery.pk, url="https://evil.example.com/").split("/")[-2]
    # Keep our signature, swap in another payload: the signature no longer matches.
    mixed = forged_token.split(":")[0] + ":" + token.split(":")[1]

    for bad in [f"/t/c/{mixed}/", f"/t/c/{token[:-3]}/", "/t/c/https:evil.example.com/", "/t/c/x/"]:
        response = client.get(bad)
        assert response.status_code == 400, bad
        assert "Location" not in response
    assert not DeliveryEvent.objects.exists()


def test_a_signed_link_to_a_non_web_scheme_is_refused(client):
    delivery = make_delivery()
    link = click_url(delivery_id=delivery.pk, url="javascript:alert(1)")

    assert client.get(path_of(link)).status_code == 400


def test_a_head_request_from_a_link_scanner_redirects_without_counting(client):
    delivery = make_delivery()

    response = client.head(path_of(click_url(delivery_id=delivery.pk, url="https://example.org/")))

    assert response.status_code == 302
    assert not DeliveryEvent.objects.exists()


def test_the_open_pixel_is_a_gif_and_counts_one_open_per_delivery(client):
    delivery = make_delivery()
    pixel = path_of(open_pixel_url(delivery_id=delivery.pk))

    first = client.get(pixel)
    client.get(pixel)

    assert first.status_code == 200 and first["Content-Type"] == "image/gif"
    assert first.content.startswith(b"GIF89a")
    assert "no-cache" in first["Cache-Control"] or "max-age=0" in first["Cache-Control"]
    assert DeliveryEvent.objects.filter(kind=DeliveryEvent.Kind.OPENED, delivery=delivery).count() == 1


def test_a_forged_open_pixel_is_refused(client):
    make_delivery()

    assert client.get("/t/o/1:forged.gif").status_code == 400
    assert not DeliveryEvent.objects.exists()


def test_a_click_for_a_deleted_delivery_still_redirects(client):
    link = click_url(delivery_id=999_999, url="https://example.org/")

    assert client.get(path_of(link))["Location"] == "https://example.org/"


def test_rewriting_tracks_web_links_but_leaves_unsubscribe_and_mailto_alone():
    html = (
        '<p><a href="https://example.org/a?x=1&amp;y=2">A</a> '
        "<a href='mailto:info@example.org'>mail</a> "
        '<a href="http://127.0.0.1:8000/unsubscribe/abc:def/">leave</a></p>'
    )

    out = rewrite_links(html, delivery_id=5)

    assert "https://example.org/a" not in out
    tracked = out.split('href="')[1].split('"')[0]
    assert read_click_url(tracked) == (5, "https://example.org/a?x=1&y=2")
    assert "mailto:info@example.org" in out
    assert "/unsubscribe/abc:def/" in out


def test_the_open_pixel_goes_before_the_end_of_the_body():
    out = add_open_pixel("<html><body><p>Hi</p></body></html>", delivery_id=3)

    assert out.index("/t/o/") < out.index("</body>")


def test_tracking_is_off_when_the_campaign_a_list_or_the_person_says_so():
    campaign = Campaign(subject="x", tracking_enabled=True)
    person = Subscriber(email="a@example.org", tracking_allowed=True)
    open_list = MailingList(slug="news", tracking_enabled=True)
    private_list = MailingList(slug="defenders", tracking_enabled=False)

    assert tracking_allowed(campaign, person, [open_list])
    assert not tracking_allowed(campaign, person, [open_list, private_list])
    assert not tracking_allowed(Campaign(subject="x", tracking_enabled=False), person, [open_list])
    assert not tracking_allowed(campaign, Subscriber(email="b@example.org", tracking_allowed=False), [open_list])


def test_a_link_in_a_rendered_campaign_leads_through_the_redirect_and_is_counted(client):
    from campaigns.sending.rendering import CampaignRenderer

    delivery = make_delivery()
    campaign = delivery.campaign
    campaign.body_markdown = "Read [the court ruling](https://example.net/ruling) today."
    campaign.save()
    message = CampaignRenderer(campaign).render(subscriber=delivery.subscriber, delivery_id=delivery.pk)
    html = next(body for body, mimetype in message.alternatives if mimetype == "text/html")
    targets = {read_click_url(url): url for url in re.findall(r'href="([^"]+)"', html)}
    tracked = targets[(delivery.pk, "https://example.net/ruling")]
    pixel = re.search(r'<img src="([^"]+/t/o/[^"]+)"', html).group(1)

    response = client.get(path_of(tracked))
    client.get(path_of(pixel))

    assert response.status_code == 302 and response["Location"] == "https://example.net/ruling"
    kinds = set(DeliveryEvent.objects.filter(delivery=delivery).values_list("kind", flat=True))
    assert kinds == {DeliveryEvent.Kind.CLICKED, DeliveryEvent.Kind.OPENED}
