"""Beat's batches: each step once per person, waits, branches, exits, pause, removed steps."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from actions.models import ActedAudience, Signature
from campaigns.models import Campaign, Delivery, DeliveryEvent
from donations.services import record_donation
from journeys import engine
from journeys.models import Enrolment, Journey, Step
from journeys.services import setup
from journeys.services.entering import enrol
from subscribers.models import Subscriber, Subscription, Suppression, email_hash
from subscribers.services import leaving
from tests.support.factories import gift, petition
from tests.support.factories.subscribers import make_list, make_people
from tests.support.journeys import email, steps_of, wait, welcome_journey
from tests.support.sending import mail_earlier

pytestmark = pytest.mark.django_db
ES = Enrolment.State


def enter(journey: Journey, people) -> None:
    for person in people:
        enrol(journeys=[journey], subscriber_id=person.pk)


def deliveries(step: Step) -> list[int]:
    return sorted(Delivery.objects.filter(campaign=step.campaign).values_list("subscriber_id", flat=True))


def test_the_first_email_is_queued_once_and_the_person_waits_for_the_next():
    peru = make_list()
    journey = welcome_journey(peru)
    people = make_people(3, peru)
    enter(journey, people)
    first, _pause, second = steps_of(journey)

    result = engine.run_batch()
    assert result.claimed == 3 and result.emailed == 3
    assert deliveries(first) == sorted(p.pk for p in people)
    assert first.campaign.status == Campaign.Status.SENDING and first.campaign.automated
    place = Enrolment.objects.get(subscriber=people[0])
    assert place.step == second
    assert place.due_at > timezone.now() + timedelta(days=2, hours=23)

    assert engine.run_batch().claimed == 0, "nothing is due until the wait ends"
    with time_machine.travel(timezone.now() + timedelta(days=3, minutes=1)):
        assert engine.run_batch().emailed == 3
    assert deliveries(second) == sorted(p.pk for p in people)
    assert set(Enrolment.objects.values_list("state", flat=True)) == {ES.COMPLETED}


def test_running_a_step_again_never_adds_a_second_delivery():
    peru = make_list()
    journey = welcome_journey(peru, email("Only one"))
    people = make_people(2, peru)
    enter(journey, people)
    step = steps_of(journey)[0]
    assert len(engine.add_deliveries(step.campaign, [p.pk for p in people])) == 2
    # A crash after the ledger write but before the enrolment moved is one
    # transaction, so this cannot happen; if it did, the ledger says no.
    assert engine.add_deliveries(step.campaign, [p.pk for p in people]) == []
    engine.run_batch()
    assert Delivery.objects.filter(campaign=step.campaign).count() == 2


def test_batches_take_only_their_share_and_the_rest_waits_for_the_next():
    peru = make_list()
    journey = welcome_journey(peru, email("Hello"))
    enter(journey, make_people(5, peru))
    assert engine.run_batch(limit=2).claimed == 2
    assert engine.run_batch(limit=2).claimed == 2
    assert engine.run_batch(limit=2).claimed == 1
    assert Delivery.objects.count() == 5


def test_a_wait_until_a_weekday_and_time_uses_the_organisations_time_zone(settings):
    settings.TIME_ZONE = "America/Lima"
    peru = make_list()
    journey = welcome_journey(
        peru,
        setup.StepSpec(kind=Step.Kind.WAIT, wait_weekday=Step.Weekday.MONDAY, wait_time=time(9, 0)),
        email("Monday news"),
    )
    person = make_people(1, peru)[0]
    lima = ZoneInfo("America/Lima")
    # A Saturday evening in Lima.
    with time_machine.travel(datetime(2026, 12, 5, 20, 0, tzinfo=lima)):
        enter(journey, [person])
        engine.run_batch()
    place = Enrolment.objects.get()
    assert place.due_at == datetime(2026, 12, 7, 9, 0, tzinfo=lima)
    with time_machine.travel(datetime(2026, 12, 7, 8, 59, tzinfo=lima)):
        assert engine.run_batch().claimed == 0
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, 30, tzinfo=lima)):
        assert engine.run_batch().emailed == 1


def test_a_condition_sends_people_who_clicked_to_its_branch():
    peru = make_list()
    journey = setup.create_journey(
        name="Clickers",
        trigger=Journey.Trigger.JOINED_LIST,
        trigger_list=peru,
        steps=[
            email("First"),
            wait(1),
            setup.StepSpec(kind=Step.Kind.CONDITION, condition=Step.Condition.CLICKED, go_to=6),
            email("For people who did not click"),
            setup.StepSpec(kind=Step.Kind.END),
            email("For people who clicked"),
        ],
    )
    clicker, other = make_people(2, peru)
    enter(journey, [clicker, other])
    first, _wait, _if, not_clicked, _end, clicked = steps_of(journey)
    engine.run_batch()
    delivery = Delivery.objects.get(campaign=first.campaign, subscriber=clicker)
    DeliveryEvent.objects.create(
        delivery=delivery, campaign=first.campaign, kind=DeliveryEvent.Kind.CLICKED, event_id="click-1"
    )
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        engine.run_batch()
    assert deliveries(clicked) == [clicker.pk]
    assert deliveries(not_clicked) == [other.pk]
    assert set(Enrolment.objects.values_list("state", flat=True)) == {ES.COMPLETED}


def test_unsubscribing_from_everything_leaves_at_once_and_skips_what_was_queued():
    peru = make_list()
    journey = welcome_journey(peru)
    person = make_people(1, peru)[0]
    enter(journey, [person])
    engine.run_batch()
    leaving.unsubscribe(subscriber=person, channel="one-click")
    place = Enrolment.objects.get()
    assert place.state == ES.EXITED and place.step is None
    assert Delivery.objects.get().status == Delivery.Status.SKIPPED
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        assert engine.run_batch().claimed == 0


def test_leaving_the_journeys_list_leaves_the_journey():
    peru, guatemala = make_list("peru"), make_list("guatemala")
    journey = welcome_journey(peru)
    person = make_people(1, peru)[0]
    Subscription.objects.create(subscriber=person, mailing_list=guatemala)
    enter(journey, [person])
    leaving.unsubscribe(subscriber=person, channel="page", lists=[guatemala])
    assert Enrolment.objects.get().state == ES.ACTIVE
    leaving.unsubscribe(subscriber=person, channel="page", lists=[peru])
    assert Enrolment.objects.get().state == ES.EXITED


def test_a_donation_ends_an_appeal_series():
    peru = make_list()
    journey = welcome_journey(peru, email("Please give"), wait(2), email("Last call"), exit_on_donation=True)
    person = make_people(1, peru)[0]
    enter(journey, [person])
    engine.run_batch()
    record_donation(
        email=person.email, amount="25", currency="USD", donated_at=timezone.now(), reference="ch_1", source="stripe"
    )
    assert Enrolment.objects.get().state == ES.EXITED


def test_a_paused_journey_moves_nobody_until_resumed():
    peru = make_list()
    journey = welcome_journey(peru, email("Hello"))
    enter(journey, make_people(2, peru))
    setup.set_status(journey=journey, active=False)
    assert engine.run_batch().claimed == 0
    setup.set_status(journey=journey, active=True)
    assert engine.run_batch().emailed == 2


def test_removing_a_step_moves_its_people_to_the_next_step():
    peru = make_list()
    journey = welcome_journey(peru, email("First"), wait(1), email("Second"), email("Third"))
    enter(journey, make_people(2, peru))
    engine.run_batch()
    _first, _wait, second, third = steps_of(journey)
    assert setup.people_at_steps(journey) == {second.pk: 2}
    assert setup.remove_step(step=second) == 2
    assert setup.people_at_steps(journey) == {third.pk: 2}
    second.campaign.refresh_from_db()
    assert second.campaign.status == Campaign.Status.CANCELLED, "never sent: closed, not left open"
    with time_machine.travel(timezone.now() + timedelta(days=1, minutes=1)):
        engine.run_batch()
    assert len(deliveries(third)) == 2


def test_the_frequency_cap_holds_back_a_journey_email_and_the_person_moves_on(settings):
    settings.TOCSIN_FREQUENCY_CAP = (1, 7 * 24)
    settings.TOCSIN_FREQUENCY_CAP_EXEMPT = ["alert"]
    peru = make_list()
    journey = welcome_journey(peru, email("Welcome"), email("Second"))
    mailed_lately, fresh = make_people(2, peru)
    mail_earlier([mailed_lately], days_ago=2)
    enter(journey, [mailed_lately, fresh])
    first, second = steps_of(journey)

    engine.run_batch()
    assert deliveries(first) == [fresh.pk], "one email in the last 7 days is the cap: the welcome is held back"
    assert deliveries(second) == [fresh.pk]
    place = Enrolment.objects.get(subscriber=mailed_lately)
    assert place.state == ES.COMPLETED, "held back, not stuck: the person went through the steps unmailed"


def test_alerts_exempt_from_the_cap_do_not_make_journeys_exempt(settings):
    settings.TOCSIN_FREQUENCY_CAP = (2, 7 * 24)
    settings.TOCSIN_FREQUENCY_CAP_EXEMPT = ["alert"]
    peru = make_list()
    journey = welcome_journey(peru, email("Welcome"))
    (person,) = make_people(1, peru)
    enter(journey, [person])
    engine.run_batch()
    assert deliveries(steps_of(journey)[0]) == [person.pk], "under the cap: mailed as usual"


def test_a_journey_email_obeys_suppression_and_pauses_but_not_a_campaigns_audience_rules():
    # A thank-you series for signers must reach signers: a campaign's rules ("leave out who
    # signed", "never donors") pick a one-off audience; a journey's people are who entered it,
    # and its conditions and exits do that job. Suppression and pauses protect the person: they apply.
    peru = make_list()
    journey = welcome_journey(peru, email("Thank you"))
    signer, giver, suppressed, paused = make_people(4, peru)
    (first,) = steps_of(journey)
    stop = petition()
    Signature.objects.create(action=stop, email=signer.email, name="Signer", subscriber=signer)
    ActedAudience.objects.create(campaign=first.campaign).exclude_acted.set([stop])
    gift(giver.email)
    Campaign.objects.filter(pk=first.campaign.pk).update(donor_rule="never")
    Suppression.objects.create(email_hash=email_hash(suppressed.email), reason=Suppression.Reason.COMPLAINED)
    Subscriber.objects.filter(pk=paused.pk).update(paused_until=timezone.localdate() + timedelta(days=30))
    enter(journey, [signer, giver, suppressed, paused])

    engine.run_batch()
    assert deliveries(first) == sorted([signer.pk, giver.pk])
