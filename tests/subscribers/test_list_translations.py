"""A list's name and description in the reader's language, on every page and email that shows them.

Staff write them in the list's admin; a reader whose language has no
translation sees the list's own name. The API keeps its contract: ``name``
is the list's own name, whoever asks.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice

from campaigns.models import Campaign
from campaigns.sending.rendering import CampaignRenderer
from subscribers.models import MailingList
from subscribers.services import send_confirmation, subscribe
from subscribers.tokens import make_preferences_token
from tests.support.factories import make_subscriber
from tests.support.personas import bearer, token_for, writer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogs")]

NBSP = "\u00a0"


@pytest.fixture
def peru() -> MailingList:
    return MailingList.objects.create(
        slug="peru",
        name="Peru",
        description="Mining conflicts and the communities resisting them.",
        translations={
            "es": {"name": "Perú", "description": "Conflictos mineros y las comunidades que los resisten."},
            "fr": {"name": "Pérou", "description": "Conflits miniers et communautés qui leur résistent."},
        },
    )


@pytest.fixture
def honduras() -> MailingList:
    """A list nobody translated yet."""
    return MailingList.objects.create(slug="honduras", name="Honduras rivers", description="Dams and rivers.")


@pytest.mark.parametrize(
    ("language", "name", "description"),
    [
        ("en", "Peru", "Mining conflicts and the communities resisting them."),
        ("es", "Perú", "Conflictos mineros y las comunidades que los resisten."),
        ("fr", "Pérou", "Conflits miniers et communautés qui leur résistent."),
    ],
)
def test_the_signup_page_offers_the_topics_in_the_readers_language(client, peru, honduras, language, name, description):
    page = client.get(reverse("subscribers:signup"), HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert f"<span>{name}<small" in page
    assert description in page
    assert "Honduras rivers" in page  # untranslated: its own name


def test_the_embed_snippet_names_the_topics_in_the_pages_language(client, peru):
    page = client.get(reverse("subscribers:embed"), HTTP_ACCEPT_LANGUAGE="es").content.decode()

    assert 'value="peru"&gt; Perú' in page or 'value="peru"> Perú' in page


def test_the_preference_centre_names_the_topics_in_the_persons_language(client, peru, honduras):
    claire = make_subscriber("claire@example.org", lists=[peru], language="fr")
    url = reverse("subscribers:preferences", args=[make_preferences_token(claire)])

    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "Pérou" in page
    assert "Conflits miniers et communautés qui leur résistent." in page
    assert ">Peru<" not in page


@pytest.mark.parametrize(("language", "name"), [("es", "Perú"), ("fr", "Pérou")])
def test_topic_pages_show_the_name_and_description_in_the_readers_language(client, peru, language, name):
    index = client.get(reverse("campaigns:topics"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    detail = client.get(reverse("campaigns:topic", args=["peru"]), HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert f"<strong>{name}</strong>" in index
    assert f"<h1>{name}</h1>" in detail
    assert peru.description_in(language) in detail


def test_the_confirmation_email_names_the_lists_in_the_persons_language(peru, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        result = subscribe(email="ana@example.org", name="Ana", language="es", lists=[peru], source="form")
    mail.outbox.clear()

    assert send_confirmation(subscriber_id=result.subscriber.pk, consent_id=result.consent.pk) is True

    [message] = mail.outbox
    assert "  - Perú" in message.body
    assert "<li>Perú</li>" in message.alternatives[0][0]
    assert "- Peru\n" not in message.body


@pytest.mark.parametrize(
    ("language", "reason"),
    [
        ("en", "you signed up for “Honduras rivers” and “Peru” at"),
        ("es", "te inscribiste en «Honduras rivers» y «Perú» en"),
        ("fr", f"inscrit·e à «{NBSP}Honduras rivers{NBSP}» et «{NBSP}Pérou{NBSP}» sur"),
    ],
)
def test_the_footer_says_why_in_the_readers_language_with_its_quotation_marks(peru, honduras, language, reason):
    reader = make_subscriber("reader@example.org", lists=[peru, honduras], language=language)
    campaign = Campaign.objects.create(subject="Hello", body_markdown="News.", language=language)
    campaign.lists.set([peru, honduras])

    message = CampaignRenderer(campaign).render(subscriber=reader, language=language)

    # Lines are folded at ordinary spaces only: the non-breaking ones keep « and » with their word.
    assert reason in re.sub(r"[ \n]+", " ", message.body)
    assert reason in re.sub(r"[ \n]+", " ", message.alternatives[0][0])


def test_the_api_keeps_the_lists_own_name_whatever_the_language(client, peru):
    token = token_for(writer())

    response = client.get("/api/v1/lists", HTTP_ACCEPT_LANGUAGE="es", **bearer(token))

    assert response.json() == [{"id": peru.pk, "slug": "peru", "name": "Peru", "public": True}]


@pytest.mark.parametrize("translations", [[], {"es": "Perú"}, {"es": {"name": 7}}, {"es": {"name": "  "}}, "x"])
def test_a_malformed_translation_falls_back_to_the_lists_own_name(translations):
    mailing_list = MailingList(slug="peru", name="Peru", description="Mines.", translations=translations)

    assert mailing_list.name_in("es") == "Peru"
    assert mailing_list.description_in("es") == "Mines."


def test_a_regional_language_finds_its_translation(peru):
    assert peru.name_in("es-pe") == "Perú"
    assert peru.name_in("pt") == "Peru"


# --- The list's admin -----------------------------------------------------------------------


@pytest.fixture
def staff_client(db) -> Client:
    user = User.objects.create_superuser("boss", "boss@example.org", "a-long-password-1")
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = StaticDevice.objects.create(user=user, name="backup").persistent_id
    session.save()
    return client


def change_form(mailing_list: MailingList, **fields: str) -> dict[str, str]:
    data = {
        "name": mailing_list.name,
        "slug": mailing_list.slug,
        "description": mailing_list.description,
        "public": "on",
        "tracking_enabled": "on",
        "position": "0",
        "name_es": "",
        "description_es": "",
        "name_fr": "",
        "description_fr": "",
    }
    return {**data, **fields}


def test_staff_write_the_translations_in_the_lists_admin(staff_client, honduras):
    url = reverse("admin:subscribers_mailinglist_change", args=[honduras.pk])
    page = staff_client.get(url).content.decode()
    assert 'name="name_es"' in page
    assert 'name="description_fr"' in page

    response = staff_client.post(
        url, change_form(honduras, name_es="  Ríos de   Honduras ", description_es="Represas.", name_fr="Rivières")
    )

    assert response.status_code == 302
    honduras.refresh_from_db()
    assert honduras.translations == {
        "es": {"name": "Ríos de Honduras", "description": "Represas."},
        "fr": {"name": "Rivières"},
    }
    assert 'value="Ríos de Honduras"' in staff_client.get(url).content.decode()


@pytest.mark.parametrize(
    ("hostile", "refusal"),
    [
        # NUL never reaches a form: the request-wide guard answers its own 400 page.
        ({"name_es": "Perú\x00"}, "guard"),
        ({"name_fr": "Pérou\r\nBcc: x@evil.example"}, "form"),
        ({"name_es": "P" * 121}, "form"),
    ],
)
def test_a_hostile_translation_is_refused_and_nothing_is_stored(staff_client, peru, hostile, refusal):
    url = reverse("admin:subscribers_mailinglist_change", args=[peru.pk])

    response = staff_client.post(url, change_form(peru, **hostile))

    if refusal == "guard":
        assert response.status_code == 400
    else:
        assert response.status_code == 200
        assert "errorlist" in response.content.decode()
    peru.refresh_from_db()
    assert peru.translations["es"]["name"] == "Perú"


def test_clearing_a_translation_shows_the_lists_own_name_again(staff_client, client, peru):
    url = reverse("admin:subscribers_mailinglist_change", args=[peru.pk])

    staff_client.post(url, change_form(peru, name_fr="Pérou"))

    peru.refresh_from_db()
    assert peru.translations == {"fr": {"name": "Pérou"}}
    page = client.get(reverse("subscribers:signup"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "<span>Peru<small" in page
