"""A suppression list imported in the subscribers app reaches journeys through the signals, as an unsubscribe does."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from campaigns.models import Delivery
from journeys import engine
from journeys.models import Enrolment
from journeys.services.entering import enrol
from tests.support.factories.subscribers import make_list, make_people
from tests.support.journeys import welcome_journey

pytestmark = pytest.mark.django_db


def test_an_imported_complaint_takes_the_person_out_of_their_journey(tmp_path):
    peru = make_list()
    journey = welcome_journey(peru)
    person = make_people(1, peru)[0]
    enrol(journeys=[journey], subscriber_id=person.pk)
    engine.run_batch()
    path = tmp_path / "complaints.csv"
    path.write_text(f"email,reason\n{person.email},complained\n", encoding="utf-8")
    call_command("import_suppressions", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    place = Enrolment.objects.get()
    assert place.state == Enrolment.State.EXITED
    assert Delivery.objects.get().status == Delivery.Status.SKIPPED
