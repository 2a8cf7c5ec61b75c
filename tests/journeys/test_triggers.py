"""Who enters a journey: a confirmed subscription (confirmation link or the API), never a CSV import."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from journeys.models import Enrolment
from subscribers import tokens
from subscribers.models import Subscriber
from subscribers.services import confirmation, signup
from tests.support.factories.subscribers import make_list, make_people
from tests.support.journeys import steps_of, welcome_journey

pytestmark = pytest.mark.django_db


def confirmation_token(result: signup.SignupResult) -> str:
    return tokens.make_confirmation_token(subscriber_id=result.subscriber.pk, consent_id=result.consent.pk)


def test_it_enrols_a_person_who_confirms_a_sign_up_to_the_list():
    peru = make_list("peru")
    journey = welcome_journey(peru)
    asked = signup.subscribe(email="ana@example.org", lists=[peru], source="form")
    assert not Enrolment.objects.exists(), "nobody enters before confirming"
    confirmation.confirm(token=confirmation_token(asked))
    place = Enrolment.objects.get()
    assert place.journey == journey
    assert place.subscriber.email == "ana@example.org"
    assert place.step == steps_of(journey)[0]
    assert place.state == Enrolment.State.ACTIVE


def test_it_enrols_a_person_the_api_confirms_at_once(client, django_user_model):
    peru = make_list("peru")
    welcome_journey(peru)
    signup.subscribe(email="ben@example.org", lists=[peru], source="api", double_opt_in=False)
    assert Enrolment.objects.filter(subscriber__email="ben@example.org").count() == 1


def test_a_csv_import_enrols_nobody(tmp_path):
    peru = make_list("peru")
    welcome_journey(peru)
    path = tmp_path / "people.csv"
    path.write_text("email,name\ncarla@example.org,Carla\ndiego@example.org,Diego\n")
    call_command("import_subscribers", str(path), "--list", "peru", stdout=io.StringIO())
    assert Subscriber.objects.filter(status=Subscriber.Status.CONFIRMED).count() == 2
    assert not Enrolment.objects.exists()


def test_creating_a_journey_enrols_nobody_already_on_the_list():
    peru = make_list("peru")
    make_people(5, peru)
    welcome_journey(peru)
    assert not Enrolment.objects.exists()


def test_a_person_enters_a_journey_once_even_if_they_join_again():
    peru = make_list("peru")
    welcome_journey(peru)
    signup.subscribe(email="eva@example.org", lists=[peru], source="api", double_opt_in=False)
    person = Subscriber.objects.get(email="eva@example.org")
    from subscribers.services import leaving

    leaving.unsubscribe(subscriber=person, channel="page", lists=[peru])
    signup.subscribe(email="eva@example.org", lists=[peru], source="api", double_opt_in=False)
    assert Enrolment.objects.filter(subscriber=person).count() == 1


def test_a_confirmation_to_another_list_enrols_nobody():
    peru, guatemala = make_list("peru"), make_list("guatemala")
    welcome_journey(peru)
    signup.subscribe(email="fer@example.org", lists=[guatemala], source="api", double_opt_in=False)
    assert not Enrolment.objects.exists()
