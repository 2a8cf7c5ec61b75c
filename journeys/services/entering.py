"""Who enters and who leaves a journey: receivers of the lower apps' signals, and beat's inactivity scan.

The signals are sent inside the transaction of the change (a confirmation, a
gift, a signature, an unsubscribe), so an enrolment commits or rolls back
with it. A person enters a journey once (unique journey + subscriber).
"""

# The SQL here is built from model table names and code constants; every value is a parameter.
# ruff: noqa: S608
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Delivery, DeliveryEvent
from journeys.models import Enrolment, Journey, Step
from subscribers.models import Consent, Subscriber, Subscription

ES = Enrolment.State


def first_steps(journeys: list[Journey]) -> dict[int, int | None]:
    firsts: dict[int, int | None] = {journey.pk: None for journey in journeys}
    for step in Step.objects.filter(journey__in=journeys).order_by("journey", "-position", "-id"):
        firsts[step.journey_id] = step.pk  # the last one written is the first in order
    return firsts


def enrol(*, journeys: list[Journey], subscriber_id: int) -> int:
    """Put one person at the start of each journey they were never in; how many they entered."""
    if not journeys:
        return 0
    if not Subscriber.objects.filter(pk=subscriber_id, status=Subscriber.Status.CONFIRMED).exists():
        return 0
    now = timezone.now()
    firsts = first_steps(journeys)
    made = Enrolment.objects.bulk_create(
        [
            Enrolment(journey=journey, subscriber_id=subscriber_id, step_id=firsts[journey.pk], due_at=now)
            for journey in journeys
        ],
        ignore_conflicts=True,
    )
    return len(made)


def leave(*, subscriber_id: int, reason: str, journeys: Any = None) -> int:
    """Take a person out of their journeys at once (all, or those in ``journeys``)."""
    places = Enrolment.objects.filter(subscriber_id=subscriber_id, state=ES.ACTIVE)
    if journeys is not None:
        places = places.filter(journey__in=journeys)
    journey_ids = list(places.values_list("journey_id", flat=True))
    left = places.update(state=ES.EXITED, step=None, due_at=None, finished_at=timezone.now(), exit_reason=reason[:200])
    if journey_ids:
        # What a batch already queued for them stays unsent.
        Delivery.objects.filter(
            campaign__journey_step__journey_id__in=journey_ids,
            subscriber_id=subscriber_id,
            status=Delivery.Status.QUEUED,
        ).update(status=Delivery.Status.SKIPPED, error="left the journey")
    return left


# --- receivers (connected in JourneysConfig.ready) -------------------------------------------


def on_subscription_confirmed(*, subscriber_id: int, list_ids: list[int], source: str = "", **_kw: Any) -> None:
    if source == Consent.Source.IMPORT:
        return  # an import is old consent moved in, not a new supporter
    journeys = list(Journey.objects.filter(trigger=Journey.Trigger.JOINED_LIST, trigger_list_id__in=list_ids))
    enrol(journeys=journeys, subscriber_id=subscriber_id)


def on_person_left(*, subscriber_id: int, **_kw: Any) -> None:
    leave(subscriber_id=subscriber_id, reason=_("left every list"))


def on_subscriptions_ended(*, subscriber_id: int, list_ids: list[int], **_kw: Any) -> None:
    journeys = Journey.objects.filter(trigger_list_id__in=list_ids)
    leave(subscriber_id=subscriber_id, reason=_("left the journey's list"), journeys=journeys)


def on_donation_recorded(*, donation: Any, **_kw: Any) -> None:
    subscriber_id = donation.subscriber_id
    if subscriber_id is None:
        return
    ending = Journey.objects.filter(exit_on_donation=True)
    leave(subscriber_id=subscriber_id, reason=_("gave a donation"), journeys=ending)
    if donation.donated_at < timezone.now() - timedelta(days=7):
        return  # a gift recorded late (a bank transfer entered by hand): no thank-you series weeks after
    enrol(journeys=list(Journey.objects.filter(trigger=Journey.Trigger.DONATED)), subscriber_id=subscriber_id)


def on_action_signed(*, signature: Any, **_kw: Any) -> None:
    if signature.subscriber_id is None:
        return
    journeys = list(Journey.objects.filter(trigger=Journey.Trigger.ACTED, trigger_action_id=signature.action_id))
    enrol(journeys=journeys, subscriber_id=signature.subscriber_id)


# --- the inactivity trigger (beat, hourly) ----------------------------------------------------


def enrol_inactive(journey: Journey) -> int:
    """Enter everyone confirmed for N days with no open or click in the last N days; once each.

    People who said no to tracking never show an open: they are left out
    rather than taken for inactive.
    """
    days = journey.inactive_days or 0
    if journey.trigger != Journey.Trigger.INACTIVE or days <= 0:
        return 0
    now = timezone.now()
    since = now - timedelta(days=days)
    first = first_steps([journey])[journey.pk]
    params: list[Any] = [journey.pk, first, ES.ACTIVE, now, now, "", Subscriber.Status.CONFIRMED, True, since]
    on_list = ""
    if journey.trigger_list_id:
        on_list = (
            f" AND EXISTS (SELECT 1 FROM {Subscription._meta.db_table} sub WHERE sub.subscriber_id = s.id"
            " AND sub.mailing_list_id = %s AND sub.status = %s)"
        )
        params += [journey.trigger_list_id, Subscription.Status.ACTIVE]
    params += [DeliveryEvent.Kind.OPENED, DeliveryEvent.Kind.CLICKED, since]
    sql = (
        f"INSERT INTO {Enrolment._meta.db_table} (journey_id, subscriber_id, step_id, state, due_at, entered_at,"
        " finished_at, exit_reason)"
        " SELECT %s, s.id, %s, %s, %s, %s, NULL, %s"
        f" FROM {Subscriber._meta.db_table} s WHERE s.status = %s AND s.tracking_allowed = %s AND s.confirmed_at < %s"
        + on_list
        + f" AND NOT EXISTS (SELECT 1 FROM {Delivery._meta.db_table} d"
        f" JOIN {DeliveryEvent._meta.db_table} e ON e.delivery_id = d.id"
        " WHERE d.subscriber_id = s.id AND e.kind IN (%s, %s) AND e.occurred_at >= %s)"
        " ON CONFLICT (journey_id, subscriber_id) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def enrol_all_inactive() -> int:
    return sum(enrol_inactive(journey) for journey in Journey.objects.filter(trigger=Journey.Trigger.INACTIVE))
