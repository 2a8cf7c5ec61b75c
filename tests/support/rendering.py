"""A bulletin to render, as the rendering tests share it (tests/campaigns/rendering/).

The organisation's settings (``SITE`` and the rest, set by the autouse
fixture in tests/campaigns/rendering/conftest.py), a campaign on the "mining"
list with two articles added out of order, and a way to read a message's
HTML part.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from campaigns.models import Article, Campaign
from subscribers.models import MailingList

SITE = "https://news.example.org"
ORGANISATION = {
    "SITE_URL": SITE,
    "TOCSIN_ORG_NAME": "Red de Alerta",
    "TOCSIN_ORG_ADDRESS": "Casilla 77, Cusco, Peru",
    "DEFAULT_FROM_EMAIL": "Red de Alerta <news@example.org>",
}


def make_article(n: int, **fields: Any) -> Article:
    values = {
        "title": f"Protest camp {n} holds out against the mine",
        "slug": f"protest-camp-{n}",
        "summary": "Community members blocked the access road for a **third** week. "
        "They ask for a [consultation](https://example.net/consulta) first.",
        "body_markdown": "Long body text.",
        "body_html": "<p>Long body text.</p>",
        "source": "Radio Comunitaria",
        "lead_image_url": f"/media/camp-{n}.jpg",
        "lead_image_alt": f"Villagers on the road, picture {n}",
        "status": Article.Status.PUBLISHED,
        "published_at": datetime(2026, 11, 20, 12, tzinfo=UTC),
    }
    values.update(fields)
    return Article.objects.create(**values)


def make_campaign(lists: list[MailingList], **fields: Any) -> Campaign:
    values = {"kind": Campaign.Kind.BULLETIN, "subject": "This week in the Andes", "preheader": "Five stories"}
    values.update(fields)
    campaign = Campaign.objects.create(**values)
    campaign.lists.set(lists)
    return campaign


def html_of(message: Any) -> str:
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return str(content)
