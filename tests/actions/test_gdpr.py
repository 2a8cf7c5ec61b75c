"""Signatures in the GDPR access export and erasure: the person goes, the counts stay."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse

from actions import services
from actions.models import Letter, Signature
from subscribers.models import Subscriber
from subscribers.services import erase, export_personal_data
from tests.support.factories import letter, petition, riding_map
from tests.support.personas import staff as make_staff
from tests.support.personas import verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed():  # type: ignore[no-untyped-def]
    riding_map()
    person = Subscriber.objects.create(email="ana@example.org", name="Ana", status=Subscriber.Status.CONFIRMED)
    services.sign(action=petition(), email="ana@example.org", name="Ana Quispe", message="Free them.")
    services.sign(action=letter(), email="ana@example.org", name="Ana Quispe", postal_code="K1A 0B1", message="Mine")
    services.sign(action=petition(slug="other"), email="bea@example.org", name="Bea")
    return person


def test_the_access_export_lists_the_persons_signatures_and_letters(signed):
    export = export_personal_data(signed)

    signatures = export["signatures"]
    assert [row["action"] for row in signatures] == ["stop-the-mine", "write-your-mp"]
    assert signatures[0]["message"] == "Free them."
    assert signatures[1]["postal_code"] == "K1A 0B1"
    assert signatures[1]["letters"] == [
        {"target": "Ana Tremblay", "target_email": "ana.tremblay@parl.example", "status": "pending", "sent_at": None}
    ]
    json.dumps(export, cls=DjangoJSONEncoder)  # the admin serves it as a JSON file


def test_erasure_removes_the_person_from_signatures_and_unsent_letters_but_keeps_the_counts(signed):
    actor = User.objects.create_user("staff", "staff@example.org", "a-long-password-3", is_staff=True)
    erase(subscriber=signed, actor=actor)

    erased = Signature.objects.exclude(email="bea@example.org")
    assert erased.count() == 2
    for signature in erased:
        assert signature.email.endswith("@erased.invalid")
        assert (signature.name, signature.postal_code, signature.message, signature.letter_body) == ("", "", "", "")
        assert signature.erased_at is not None
    assert Letter.objects.get().status == Letter.Status.SKIPPED  # its text named her: never sent now
    assert services.signature_count(erased[0].action) == 1
    assert Signature.objects.get(email="bea@example.org").name == "Bea"
    assert export_personal_data(Subscriber.objects.get(pk=signed.pk))["signatures"][0]["name"] == ""


def test_a_signer_who_is_not_a_subscriber_is_erased_from_the_signatures_admin(client):
    action = petition()
    services.sign(action=action, email="cris@example.org", name="Cris")
    user = make_staff("boss", None)
    user.is_superuser = True
    user.save()
    verified(client, user)

    response = client.post(
        reverse("admin:actions_signature_changelist"),
        {"action": "erase_people", "_selected_action": [Signature.objects.get().pk]},
    )

    assert response.status_code == 302
    signature = Signature.objects.get()
    assert signature.name == "" and signature.email.endswith("@erased.invalid")
    assert services.signature_count(action) == 1
