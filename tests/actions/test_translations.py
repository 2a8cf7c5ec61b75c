"""An action in English, Spanish and French: the page and the letter in the supporter's language."""

from __future__ import annotations

import pytest

from actions.models import ActionTranslation, Signature
from actions.translations import ReadOnlyCopy, localized
from tests.support.factories import letter, petition, riding_map
from tests.support.personas import staff, token_for

pytestmark = pytest.mark.django_db


def spanish(action, **fields):  # type: ignore[no-untyped-def]
    values = {
        "title": "Detengan la mina a cielo abierto en Laguna Azul",
        "body_markdown": "La **comunidad** de Laguna Azul dijo que no.",
        **fields,
    }
    return ActionTranslation.objects.create(action=action, language="es", **values)


def test_the_page_is_served_in_the_readers_language(client):
    action = petition()
    spanish(action)
    es = client.get("/act/stop-the-mine/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    fr = client.get("/act/stop-the-mine/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Detengan la mina" in es and "<strong>comunidad</strong>" in es and "Firmar la petición" in es
    # No French translation: the action's own text, with the page's words in French.
    assert "Stop the open-pit mine" in fr and "Signer la pétition" in fr


def test_a_letter_is_signed_as_the_supporter_read_it(client):
    riding_map()
    action = letter()
    ActionTranslation.objects.create(
        action=action,
        language="fr",
        title="Demandez à votre député des règles contraignantes",
        letter_subject="Des règles contraignantes pour les sociétés minières",
        letter_body="En tant que citoyenne de votre circonscription, je vous demande d'agir.",
    )
    page = client.get(action.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "je vous demande d&#x27;agir" in page
    client.post(
        action.get_absolute_url(),
        {"name": "Louise", "email": "louise@example.org", "postal_code": "K1A 0B1"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )
    signature = Signature.objects.get()
    assert signature.language == "fr"
    assert signature.letter_subject == "Des règles contraignantes pour les sociétés minières"
    # The body left blank in a translation falls back to the action's own: never an empty page.
    assert localized(action, "fr").body_markdown == action.body_markdown


def test_a_localized_copy_cannot_be_saved_over_the_original():
    action = petition()
    spanish(action)
    shown = localized(action, "es")
    with pytest.raises(ReadOnlyCopy):
        shown.save()
    action.refresh_from_db()
    assert action.title.startswith("Stop")


def test_the_api_takes_translations(client):
    boss = staff("boss", "admin")
    response = client.post(
        "/api/v1/actions",
        {
            "kind": "petition",
            "slug": "agua",
            "title": "Water is life",
            "body_markdown": "Protect the river.",
            "translations": {"es": {"title": "El agua es vida", "body_markdown": "Protejan el río."}},
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_for(boss)}",
    )
    assert response.status_code == 201, response.content
    assert ActionTranslation.objects.get().title == "El agua es vida"
    bad = client.post(
        "/api/v1/actions",
        {
            "kind": "petition",
            "slug": "otra",
            "title": "T",
            "body_markdown": "B",
            "translations": {"xx": {"title": "?"}},
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_for(boss)}",
    )
    assert bad.status_code in (400, 422) and "errors" in bad.json()
    assert not ActionTranslation.objects.filter(action__slug="otra").exists()
