"""Appeal audiences: recent, lapsed and never-donors, monthly donors left out — counted in one query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from campaigns.models import Campaign
from campaigns.sending.audience import count_audience, snapshot
from donations.audience import apply_donor_rules, left_out_note
from subscribers.models import Subscriber
from tests.support.factories import gift, make_campaign, make_list, make_people

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():  # type: ignore[no-untyped-def]
    """Ten subscribers: 2 gave last week, 3 gave two years ago, 1 gives monthly, 4 never gave."""
    peru = make_list()
    everyone = make_people(10, peru)
    recent, lapsed, monthly = everyone[:2], everyone[2:5], everyone[5]
    for person in recent:
        gift(person.email, days_ago=7)
    for person in lapsed:
        gift(person.email, days_ago=700)
    gift(monthly.email, days_ago=20, recurring=True)
    gift(monthly.email, days_ago=50, recurring=True)
    gift("not-a-subscriber@example.org", days_ago=3)  # unmatched: changes no count
    return peru


def counts(campaign: Campaign) -> tuple[int, int]:
    """The count shown before sending, and the same rules applied as queryset filters."""
    in_lists = Subscriber.objects.filter(
        status=Subscriber.Status.CONFIRMED, subscriptions__mailing_list__in=campaign.lists.all()
    ).distinct()
    return count_audience(campaign), apply_donor_rules(in_lists, campaign).count()


def test_a_bulletin_without_rules_goes_to_everyone(people):
    assert counts(make_campaign([people])) == (10, 10)


def test_monthly_donors_are_always_left_out_of_appeals(people):
    assert counts(make_campaign([people], kind=Campaign.Kind.APPEAL)) == (9, 9)


def test_exclude_donors_days_leaves_out_recent_donors(people):
    appeal = make_campaign([people], kind=Campaign.Kind.APPEAL, exclude_donors_days=30)
    assert counts(appeal) == (7, 7)  # 10 - 2 recent - 1 monthly
    appeal.exclude_donors_days = 1000
    assert counts(appeal) == (4, 4)  # the lapsed gave within 1000 days too


def test_exclude_recent_rule_defaults_to_90_days(people):
    appeal = make_campaign([people], kind=Campaign.Kind.APPEAL, donor_rule="exclude_recent")
    assert counts(appeal) == (7, 7)


def test_lapsed_rule_targets_only_people_who_gave_before_but_not_lately(people):
    appeal = make_campaign([people], kind=Campaign.Kind.APPEAL, donor_rule="lapsed", exclude_donors_days=365)
    assert counts(appeal) == (3, 3)


def test_never_rule_targets_only_people_who_never_gave(people):
    appeal = make_campaign([people], kind=Campaign.Kind.APPEAL, donor_rule="never")
    assert counts(appeal) == (4, 4)


def test_a_monthly_donor_who_stopped_is_asked_again(people):
    stopped = Subscriber.objects.get(email="person9@example.org")
    gift(stopped.email, days_ago=200, recurring=True)
    appeal = make_campaign([people], kind=Campaign.Kind.APPEAL, donor_rule="never")
    assert counts(appeal) == (3, 3)  # no longer a never-donor...
    appeal.donor_rule = "all"
    assert counts(appeal) == (9, 9)  # ...but not a current monthly donor either


def test_the_count_is_one_query_and_the_snapshot_agrees(people):
    appeal = make_campaign([people], kind=Campaign.Kind.APPEAL, donor_rule="lapsed", exclude_donors_days=365)
    with CaptureQueriesContext(connection) as queries:
        assert count_audience(appeal) == 3
    assert len([q for q in queries.captured_queries if "COUNT" in q["sql"]]) == 1
    with CaptureQueriesContext(connection) as queries:
        assert apply_donor_rules(Subscriber.objects.all(), appeal).count() == 3
    assert len(queries.captured_queries) == 1
    assert snapshot(appeal) == 3


def test_the_send_page_note_says_how_many_the_donor_rules_leave_out(people):
    appeal = make_campaign([people], kind=Campaign.Kind.APPEAL, exclude_donors_days=30)
    with translation.override("en"):
        assert left_out_note(appeal) == "3 people are left out by the donor rules."  # 2 recent, 1 monthly
    assert left_out_note(make_campaign([people])) is None  # a bulletin: no rule, no query
