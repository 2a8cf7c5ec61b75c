"""Campaign emails' links and headers: unsubscribe, footer, sender, provider metadata, tracking and privacy."""

from __future__ import annotations

import email
import re
from email import policy

import pytest

from campaigns.events.tracking import read_click_token, read_open_token
from campaigns.models import Campaign
from campaigns.sending.rendering import (
    CampaignRenderer,
)
from subscribers.models import MailingList, Subscriber, Subscription
from subscribers.tokens import list_unsubscribe_headers, read_preferences_token, read_unsubscribe_token
from tests.support.rendering import SITE, html_of, make_campaign

pytestmark = pytest.mark.django_db


def test_every_email_carries_one_click_unsubscribe_headers_and_working_footer_links(bulletin, ana):
    message = CampaignRenderer(bulletin).render(subscriber=ana, delivery_id=7)
    unsubscribe = re.match(r"<(.+?)>", message.extra_headers["List-Unsubscribe"]).group(1)
    assert unsubscribe.startswith(f"{SITE}/unsubscribe/")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = unsubscribe.removeprefix(f"{SITE}/unsubscribe/").strip("/")
    assert read_unsubscribe_token(token) == ana.pk
    for part in (html_of(message), message.body):
        assert unsubscribe in part
        assert f"{SITE}/bulletins/{bulletin.attribution_code}/" in part
        preferences = re.search(rf"{SITE}/preferences/([^/\s\"]+)/", part).group(1)
        assert read_preferences_token(preferences) == ana.pk


def test_the_footer_gives_the_postal_address_and_the_reason(bulletin, ana):
    message = CampaignRenderer(bulletin).render(subscriber=ana)
    for part in (html_of(message), message.body):
        assert "Red de Alerta" in part
        assert "Casilla 77, Cusco, Peru" in part
        assert "because you signed up for “Mining watch” at news.example.org" in " ".join(part.split())


def test_the_reason_names_only_the_campaign_lists_the_person_is_on(mining_list, ana):
    water = MailingList.objects.create(slug="water", name="Water defenders", position=2)
    MailingList.objects.create(slug="other", name="Other news")
    campaign = make_campaign([mining_list, water], kind=Campaign.Kind.ALERT)
    renderer = CampaignRenderer(campaign)
    assert "for “Mining watch” at" in renderer.render(subscriber=ana).body
    Subscription.objects.create(subscriber=ana, mailing_list=water)
    both = renderer.subscribed_list_ids([ana.pk])
    text = " ".join(renderer.render(subscriber=ana, list_ids=both[ana.pk]).body.split())
    assert "for “Mining watch” and “Water defenders” at" in text


def test_from_reply_to_metadata_and_tags_for_the_provider(bulletin, ana):
    bulletin.from_name = "Red de Alerta Andina"
    bulletin.reply_to = "editors@example.org"
    bulletin.save()
    message = CampaignRenderer(bulletin).render(subscriber=ana, delivery_id=42)
    assert message.from_email == '"Red de Alerta Andina" <news@example.org>'
    assert message.reply_to == ["editors@example.org"]
    assert message.metadata == {"campaign_id": str(bulletin.pk), "kind": "bulletin", "delivery_id": "42"}
    assert message.tags == [f"campaign-{bulletin.pk}"]
    assert message.track_opens is True and message.track_clicks is True


def test_without_a_from_address_the_default_sender_is_used(bulletin, ana):
    assert CampaignRenderer(bulletin).render(subscriber=ana).from_email == "Red de Alerta <news@example.org>"


@pytest.mark.parametrize("who", ["campaign", "list", "subscriber"])
def test_tracking_is_off_when_the_campaign_a_list_or_the_person_says_so(bulletin, ana, mining_list, who):
    if who == "campaign":
        bulletin.tracking_enabled = False
        bulletin.save()
    elif who == "list":
        mining_list.tracking_enabled = False
        mining_list.save()
    else:
        ana.tracking_allowed = False
        ana.save()
    message = CampaignRenderer(bulletin).render(subscriber=ana, delivery_id=1)
    assert message.track_opens is False
    assert message.track_clicks is False


def test_one_renderer_gives_each_person_their_own_links(bulletin, ana, mining_list):
    other = Subscriber.objects.create(email="b@example.org", name="Beto")
    renderer = CampaignRenderer(bulletin)
    first, second = renderer.render(subscriber=ana), renderer.render(subscriber=other)
    assert first.extra_headers["List-Unsubscribe"] != second.extra_headers["List-Unsubscribe"]
    assert "Dear Beto," in html_of(second) and "Ana" not in html_of(second)


@pytest.mark.parametrize("mailto", ["", "leave@example.org"])
def test_list_unsubscribe_is_exactly_what_the_subscribers_app_would_send(bulletin, ana, settings, mailto):
    settings.TOCSIN_UNSUBSCRIBE_MAILTO = mailto
    message = CampaignRenderer(bulletin).render(subscriber=ana)
    assert message.extra_headers == list_unsubscribe_headers(ana)


def test_links_go_through_the_signed_click_redirect_when_tracking_is_allowed(bulletin, ana):
    body = html_of(CampaignRenderer(bulletin).render(subscriber=ana, delivery_id=7))
    clicks = re.findall(rf'href="{SITE}/t/c/([^"/]+)/"', body)
    targets = {read_click_token(token) for token in clicks}
    assert (7, f"{SITE}/articles/protest-camp-1/") in targets
    assert (7, "https://example.net/valley") in targets
    [pixel] = re.findall(rf'<img src="{SITE}/t/o/([^"]+)\.gif" width="1" height="1" alt=""', body)
    assert read_open_token(pixel) == 7
    # Leaving and the web version never depend on the tracker.
    assert f'href="{SITE}/unsubscribe/' in body
    assert f'href="{SITE}/bulletins/{bulletin.attribution_code}/"' in body


def test_no_pixel_and_no_redirect_for_a_person_who_turned_tracking_off(bulletin, ana):
    ana.tracking_allowed = False
    body = html_of(CampaignRenderer(bulletin).render(subscriber=ana, delivery_id=7))
    assert "/t/c/" not in body and "/t/o/" not in body
    assert 'href="https://example.net/valley"' in body


def test_previews_and_test_sends_without_a_delivery_are_not_tracked(bulletin, ana):
    body = html_of(CampaignRenderer(bulletin).render(subscriber=ana))
    assert "/t/c/" not in body and "/t/o/" not in body


def test_a_sender_name_with_accents_and_a_first_name_subject_make_valid_headers(bulletin, ana):
    bulletin.from_name = 'Red "Andina" de Defensa — Perú'
    bulletin.from_email = "red@example.org"
    bulletin.subject = "{{ first_name|default:'Amiga' }}, la semana en los Andes"
    bulletin.save()
    message = CampaignRenderer(bulletin).render(subscriber=ana, delivery_id=1)
    assert message.subject == "Ana, la semana en los Andes"
    parsed = email.message_from_bytes(message.message().as_bytes(), policy=policy.default)
    assert parsed["From"].addresses[0].display_name == "Red 'Andina' de Defensa — Perú"
    assert parsed["From"].addresses[0].addr_spec == "red@example.org"
    assert parsed["Subject"] == "Ana, la semana en los Andes"


def test_a_test_send_to_someone_not_on_the_list_still_renders(bulletin):
    staff = Subscriber(email="editor@example.org", name="Editor")  # never saved
    message = CampaignRenderer(bulletin).render(subscriber=staff)
    assert message.to == ["editor@example.org"]
    assert "Dear Editor," in message.body
