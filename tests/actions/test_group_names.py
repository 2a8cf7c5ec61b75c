"""A target group's name in the reader's language, where the letter page says who receives the letter.

Staff write the group's name in each language in its admin; a reader whose
language has none sees the group's own name. The sentence names the group
and says which of its members the letter goes to, in words that read
naturally in English, Spanish and French.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice

from actions.models import TargetGroup
from actions.personal import personal_url
from subscribers.models import Subscriber
from tests.support.factories import group, letter

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogs")]

NBSP = "\u00a0"


def html_of(response) -> str:  # type: ignore[no-untyped-def]
    """The page with its runs of ASCII white space as one space (a non-breaking space stays)."""
    return re.sub(r"[ \t\r\n]+", " ", response.content.decode())


@pytest.fixture
def mps() -> TargetGroup:
    mps = group("mps")
    mps.name = "Members of Parliament"
    mps.translations = {"es": {"name": "Diputados"}, "fr": {"name": "Députés"}}
    mps.save()
    return mps


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("en", "<strong>Members of Parliament</strong>: the one who represents your district, found from your postal"),
        ("es", "<strong>Diputados</strong>: la persona que representa a su circunscripción, según su código postal"),
        ("fr", f"<strong>Députés</strong>{NBSP}: la personne qui représente votre circonscription, trouvée d’après"),
    ],
)
def test_the_letter_page_names_the_group_in_the_readers_language(client, mps, language, sentence):
    action = letter(target_group=mps)

    page = html_of(client.get(action.get_absolute_url(), HTTP_ACCEPT_LANGUAGE=language))

    assert sentence in page
    assert "Members of Parliament" not in page or language == "en"


def test_a_group_nobody_translated_keeps_its_own_name(client):
    councillors = TargetGroup.objects.create(slug="council", name="City councillors")
    action = letter(target_group=councillors)

    page = html_of(client.get(action.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="es"))

    assert "<strong>City councillors</strong>: la persona que representa a su circunscripción" in page


def test_a_personal_link_names_the_group_in_the_subscribers_language_whatever_the_browser_says(client, mps):
    action = letter(target_group=mps)
    claire = Subscriber.objects.create(email="claire@example.org", name="Claire", status="confirmed", language="fr")

    page = html_of(client.get(personal_url(action, subscriber_id=claire.pk), HTTP_ACCEPT_LANGUAGE="en"))

    assert f"<strong>Députés</strong>{NBSP}: la personne qui représente votre circonscription" in page


def test_a_malformed_or_blank_translation_falls_back_to_the_groups_own_name(mps):
    mps.translations = {"es": {"name": "  "}, "fr": "Députés"}
    assert (mps.name_in("es"), mps.name_in("fr"), mps.name_in("fr-ca")) == ("Members of Parliament",) * 3
    mps.translations = {"fr": {"name": "Députés"}}
    assert mps.name_in("fr-ca") == "Députés"


# --- The group's admin ----------------------------------------------------------------------


@pytest.fixture
def staff_client(db) -> Client:
    user = User.objects.create_superuser("boss", "boss@example.org", "a-long-password-1")
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = StaticDevice.objects.create(user=user, name="backup").persistent_id
    session.save()
    return client


def change_form(target_group: TargetGroup, **fields: str) -> dict[str, str]:
    return {"name": target_group.name, "slug": target_group.slug, "name_es": "", "name_fr": "", **fields}


def test_staff_write_the_groups_name_in_each_language(staff_client, client):
    councillors = TargetGroup.objects.create(slug="council", name="City councillors")
    url = reverse("admin:actions_targetgroup_change", args=[councillors.pk])
    assert 'name="name_fr"' in staff_client.get(url).content.decode()

    response = staff_client.post(url, change_form(councillors, name_es="  Concejales  de la ciudad ", name_fr=""))

    assert response.status_code == 302
    councillors.refresh_from_db()
    assert councillors.translations == {"es": {"name": "Concejales de la ciudad"}}
    assert 'value="Concejales de la ciudad"' in staff_client.get(url).content.decode()
    page = html_of(client.get(letter(target_group=councillors).get_absolute_url(), HTTP_ACCEPT_LANGUAGE="es"))
    assert "<strong>Concejales de la ciudad</strong>: la persona" in page


@pytest.mark.parametrize(
    ("hostile", "refusal"),
    [
        # NUL never reaches a form: the request-wide guard answers its own 400 page.
        ({"name_es": "Diputados\x00"}, "guard"),
        ({"name_fr": "Députés\r\nBcc: x@evil.example"}, "form"),
        ({"name_es": "D" * 1_000_000}, "form"),
        ({"name": "M" * 1_000_000}, "form"),
    ],
)
def test_a_hostile_name_is_refused_and_nothing_is_stored(staff_client, mps, hostile, refusal):
    url = reverse("admin:actions_targetgroup_change", args=[mps.pk])

    response = staff_client.post(url, change_form(mps, **{"name_es": "Diputados", "name_fr": "Députés", **hostile}))

    if refusal == "guard":
        assert response.status_code == 400
    else:
        assert response.status_code == 200
        assert "errorlist" in response.content.decode()
    mps.refresh_from_db()
    assert mps.name == "Members of Parliament"
    assert mps.translations == {"es": {"name": "Diputados"}, "fr": {"name": "Députés"}}


def test_the_group_list_says_which_languages_a_group_is_translated_into(staff_client, mps):
    page = staff_client.get(reverse("admin:actions_targetgroup_changelist")).content.decode()

    assert "es, fr" in page
