"""The supporter's postal code and city under the letter: the city they give, else their district, else the code."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.utils import timezone

from actions import services
from actions.models import Action, Signature
from actions.tasks import sweep_letters
from subscribers.models import Subscriber
from subscribers.services import erase, export_personal_data
from tests.support.factories import letter, riding_map, target
from tests.support.personas import admin, bearer, token_for

pytestmark = pytest.mark.django_db


def footer(message) -> list[str]:  # type: ignore[no-untyped-def]
    """The lines from the supporter's name down to the signature separator, in the plain-text part."""
    lines = message.body.splitlines()
    start = lines.index("Lucía Quispe")
    return lines[start : lines.index("-- ")]


def sign_letter(action: Action, **fields: str) -> None:
    values = {"email": "lucia@example.org", "name": "Lucía Quispe", "postal_code": "K1A 0B1", **fields}
    services.sign(action=action, **values)


def test_the_city_the_supporter_gives_is_under_the_letter_with_the_postal_code(
    django_capture_on_commit_callbacks,
):
    riding_map()
    with django_capture_on_commit_callbacks(execute=True):
        sign_letter(letter(), city="Ottawa")

    [sent] = mail.outbox
    assert footer(sent) == ["Lucía Quispe", "K1A 0B1, Ottawa", ""]
    html = sent.alternatives[0][0]
    assert "K1A 0B1, Ottawa" in html


def test_without_a_city_the_district_and_province_stand_in(django_capture_on_commit_callbacks):
    riding_map()
    with django_capture_on_commit_callbacks(execute=True):
        sign_letter(letter())

    assert footer(mail.outbox[0]) == ["Lucía Quispe", "K1A 0B1, Rideau North, ON", ""]


def test_without_a_city_or_a_district_the_postal_code_stands_alone(django_capture_on_commit_callbacks):
    minister = target("Dana Minister", "dana@gov.example", groups=("ministers",))
    action = letter(by_district=False, target_group=None, fixed=[minister])
    with django_capture_on_commit_callbacks(execute=True):
        sign_letter(action, postal_code="H0H 0H0")

    assert footer(mail.outbox[0]) == ["Lucía Quispe", "H0H 0H0", ""]


def test_a_digest_shows_each_signers_city():
    riding_map()
    action = letter(delivery_mode=Action.DeliveryMode.DIGEST, digest_hour=17)
    morning = timezone.make_aware(datetime.combine(timezone.localdate(), time(9)))
    with time_machine.travel(morning, tick=False):
        sign_letter(action, city="Vanier")
        sign_letter(action, email="bea@example.org", name="Bea Roy")
    with time_machine.travel(morning + timedelta(hours=8, minutes=1), tick=False):
        sweep_letters()

    [sent] = mail.outbox
    assert "- Lucía Quispe <lucia@example.org>, K1A 0B1, Vanier" in sent.body
    assert "- Bea Roy <bea@example.org>, K1A 0B1, Rideau North, ON" in sent.body


def test_the_letter_page_asks_for_the_city_and_keeps_it(client):
    riding_map()
    action = letter()
    page = client.get(action.get_absolute_url()).content.decode()
    assert 'name="city"' in page and 'autocomplete="address-level2"' in page

    response = client.post(
        action.get_absolute_url(),
        {"name": "Lucía Quispe", "email": "lucia@example.org", "postal_code": "K1A 0B1", "city": " Ottawa "},
    )

    assert response.status_code == 303
    assert Signature.objects.get().city == "Ottawa"


@pytest.mark.parametrize("city", ["Ottawa\r\nBcc: x@example.org", "x" * 101])
def test_a_bad_city_is_a_form_error_and_nothing_is_stored(client, city):
    riding_map()
    action = letter()
    response = client.post(
        action.get_absolute_url(),
        {"name": "Lucía Quispe", "email": "lucia@example.org", "postal_code": "K1A 0B1", "city": city},
    )
    assert response.status_code in (200, 400)
    assert not Signature.objects.exists()


def test_the_api_takes_the_city(client):
    riding_map()
    letter()
    token = token_for(admin())
    body = {"email": "lucia@example.org", "name": "Lucía", "postal_code": "K1A 0B1", "city": "Ottawa"}
    response = client.post(
        "/api/v1/actions/write-your-mp/signatures", json.dumps(body), content_type="application/json", **bearer(token)
    )
    assert response.status_code == 201, response.json()
    assert Signature.objects.get().city == "Ottawa"


@pytest.mark.parametrize("city", ["Ott\x00awa", "\ud800", "x" * 1_000_000, "Ottawa\nBcc: x@example.org", 7])
def test_a_bad_city_through_the_api_is_a_400_naming_it(client, city):
    riding_map()
    letter()
    token = token_for(admin())
    body = {"email": "lucia@example.org", "name": "Lucía", "postal_code": "K1A 0B1", "city": city}
    response = client.post(
        "/api/v1/actions/write-your-mp/signatures", json.dumps(body), content_type="application/json", **bearer(token)
    )
    assert response.status_code == 400
    assert "city" in response.json()["errors"] or "body" in response.json()["errors"], response.json()
    assert not Signature.objects.exists()


def test_the_access_export_has_the_city_and_erasure_removes_it():
    riding_map()
    person = Subscriber.objects.create(email="lucia@example.org", name="Lucía", status=Subscriber.Status.CONFIRMED)
    sign_letter(letter(), city="Ottawa")

    assert export_personal_data(person)["signatures"][0]["city"] == "Ottawa"

    actor = User.objects.create_user("staff", "staff@example.org", "a-long-password-3", is_staff=True)
    erase(subscriber=person, actor=actor)
    assert Signature.objects.get().city == ""
