"""The public "view in browser" page of a sent campaign."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from campaigns.models import Campaign, CampaignTranslation
from campaigns.sending.rendering import render_preview
from subscribers.models import MailingList

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_alert() -> Campaign:
    campaign = Campaign.objects.create(
        kind=Campaign.Kind.ALERT,
        status=Campaign.Status.SENT,
        subject="State of emergency declared",
        intro_markdown='Dear {{ name|default:"friend" }}, troops have entered the province.',
        call_to_action_text="Write to the minister",
        call_to_action_url="https://act.example.org/minister",
    )
    campaign.lists.set([MailingList.objects.create(slug="alerts", name="Alerts")])
    return campaign


def page(client, campaign: Campaign, query: str = ""):  # type: ignore[no-untyped-def]
    return client.get(reverse("campaigns:web_version", args=[campaign.attribution_code]) + query)


def test_a_sent_campaign_reads_in_the_browser_without_any_personal_link(client, sent_alert):
    response = page(client, sent_alert)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Dear friend, troops have entered the province." in content
    assert "Write to the minister" in content
    assert "/unsubscribe/" not in content and "/preferences/" not in content
    assert "/t/c/" not in content and "/t/o/" not in content
    assert "Sign up to receive our bulletins and alerts" in content
    assert "View this email in your browser" not in content


def test_a_campaign_still_sending_is_readable_too(client, sent_alert):
    sent_alert.status = Campaign.Status.SENDING
    sent_alert.save()
    assert page(client, sent_alert).status_code == 200


@pytest.mark.parametrize("status", ["draft", "review", "approved", "scheduled", "paused", "cancelled"])
def test_a_campaign_that_was_not_sent_is_not_found(client, sent_alert, status):
    sent_alert.status = status
    sent_alert.save()
    assert page(client, sent_alert).status_code == 404


@pytest.mark.parametrize("code", ["nope", "x" * 300, "'; drop table", "é"])
def test_an_unknown_code_is_not_found(client, code):
    assert client.get(f"/bulletins/{code}/").status_code == 404


@pytest.mark.parametrize("code", ["%00", "a%00b"])
def test_a_nul_in_the_code_is_refused_before_any_lookup(client, code):
    assert client.get(f"/bulletins/{code}/").status_code == 400


def test_lang_picks_a_translation_and_falls_back_to_the_main_language(client, sent_alert):
    CampaignTranslation.objects.create(
        campaign=sent_alert, language="es", subject="Estado de emergencia", intro_markdown="Hola {{ name }}."
    )
    spanish = page(client, sent_alert, "?lang=es")
    assert "Hola amigo/a." in spanish.content.decode()
    assert spanish["Content-Language"] == "es"
    for query in ("?lang=fr", "?lang=<script>", "?lang="):
        response = page(client, sent_alert, query)
        assert response.status_code == 200
        assert "Dear friend" in response.content.decode()


def test_the_email_links_to_its_web_version(client, sent_alert, settings):
    _subject, html_part, text = render_preview(sent_alert)
    url = settings.SITE_URL + reverse("campaigns:web_version", args=[sent_alert.attribution_code])
    assert f'href="{url}"' in html_part
    assert url in text


def test_a_post_is_refused(client, sent_alert):
    response = client.post(reverse("campaigns:web_version", args=[sent_alert.attribution_code]))
    assert response.status_code == 405


def test_a_shared_web_version_has_a_share_card_in_its_language(client, sent_alert):
    sent_alert.preheader = "Write to the minister today"
    sent_alert.save()
    CampaignTranslation.objects.create(campaign=sent_alert, language="es", subject="Estado de emergencia declarado")

    english = page(client, sent_alert).content.decode()
    assert '<meta property="og:title" content="State of emergency declared">' in english
    assert '<meta property="og:description" content="Write to the minister today">' in english
    assert '<meta property="og:locale" content="en_US">' in english
    assert '<meta property="og:locale:alternate" content="es_ES">' in english
    assert f'<meta property="og:url" content="{settings.SITE_URL}/bulletins/{sent_alert.attribution_code}/">' in english

    spanish = page(client, sent_alert, "?lang=es").content.decode()
    assert '<meta property="og:title" content="Estado de emergencia declarado">' in spanish
    assert '<meta property="og:locale" content="es_ES">' in spanish
    assert '<meta property="og:locale:alternate" content="en_US">' in spanish


def test_the_email_itself_carries_no_share_card(sent_alert):
    _subject, html, _text = render_preview(sent_alert)
    assert "<title>State of emergency declared</title>" in html
    assert "og:" not in html
