"""A journey's email as its reader sees it: no "Bulletin" strip over a personal follow-up, in any language."""

from __future__ import annotations

import re

import pytest

from campaigns.sending.rendering import CampaignRenderer
from tests.support.factories import make_campaign
from tests.support.factories.subscribers import make_list, make_subscriber
from tests.support.journeys import email, steps_of, welcome_journey
from tests.support.rendering import html_of

pytestmark = pytest.mark.django_db
KIND_STRIP = re.compile(r'<td class="kind[^"]*"[^>]*>(.*?)</td>', re.S)


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_a_journey_email_has_no_bulletin_label_in_any_language(compiled_catalogs, language):
    peru = make_list()
    reader = make_subscriber(email=f"reader-{language}@example.org", language=language, lists=[peru])
    translations = {"es": {"subject": "Bienvenida"}, "fr": {"subject": "Bienvenue"}}
    journey = welcome_journey(peru, email("Welcome", translations=translations))
    (step,) = steps_of(journey)

    message = CampaignRenderer(step.campaign).render(subscriber=reader)

    assert KIND_STRIP.findall(html_of(message)) == []
    assert "Bulletin" not in message.body and "Boletín" not in message.body
    # A bulletin to the same reader keeps its label: the strip is gone for journey emails only.
    bulletin = CampaignRenderer(make_campaign([peru], language=language)).render(subscriber=reader)
    assert KIND_STRIP.findall(html_of(bulletin)) == [{"en": "Bulletin", "es": "Boletín", "fr": "Bulletin"}[language]]
