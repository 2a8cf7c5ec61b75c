"""A gift counts for an appeal when it carries the appeal's code within the attribution window."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from donations.models import Donation
from donations.services import InvalidDonation, forget_donor, record_donation, relink_unmatched
from subscribers.models import Subscriber
from tests.support.factories import make_campaign, make_list, started_appeal

pytestmark = pytest.mark.django_db


def give(code: str, *, days_after_start: int, appeal, reference: str):  # type: ignore[no-untyped-def]
    donation, _ = record_donation(
        email="ana@example.org",
        amount="20",
        currency="usd",
        donated_at=appeal.started_at + timedelta(days=days_after_start),
        reference=reference,
        attribution_code=code,
        source=Donation.Source.MANUAL,
    )
    return donation


@pytest.fixture
def appeal():  # type: ignore[no-untyped-def]
    return started_appeal(make_campaign([make_list()]), days_ago=60)


def test_gifts_inside_the_window_are_attributed(appeal, settings):
    settings.TOCSIN_ATTRIBUTION_WINDOW_DAYS = 30
    assert give(appeal.attribution_code, days_after_start=0, appeal=appeal, reference="a").campaign == appeal
    assert give(appeal.attribution_code, days_after_start=30, appeal=appeal, reference="b").campaign == appeal


def test_gifts_after_the_window_keep_the_code_but_are_not_attributed(appeal, settings):
    settings.TOCSIN_ATTRIBUTION_WINDOW_DAYS = 30
    late = give(appeal.attribution_code, days_after_start=31, appeal=appeal, reference="late")
    assert late.campaign is None
    assert late.attribution_code == appeal.attribution_code


def test_the_window_is_configurable(appeal, settings):
    settings.TOCSIN_ATTRIBUTION_WINDOW_DAYS = 45
    assert give(appeal.attribution_code, days_after_start=40, appeal=appeal, reference="a").campaign == appeal


def test_gifts_before_sending_started_or_with_unknown_codes_are_not_attributed(appeal):
    assert give(appeal.attribution_code, days_after_start=-2, appeal=appeal, reference="early").campaign is None
    assert give("nonsense", days_after_start=1, appeal=appeal, reference="other").campaign is None
    draft = make_campaign([make_list("chile")])
    assert give(draft.attribution_code, days_after_start=1, appeal=appeal, reference="draft").campaign is None


def test_amounts_are_decimal_and_validated():
    donation, created = record_donation(
        email="A@Example.org", amount=Decimal("0.10"), currency="eur", donated_at=timezone.now(),
        reference="x", source=Donation.Source.MANUAL,
    )  # fmt: skip
    assert created and donation.amount == Decimal("0.10") and donation.donor_email == "a@example.org"
    again, created = record_donation(
        email="a@example.org", amount="0.10", currency="EUR", donated_at=timezone.now(),
        reference="x", source=Donation.Source.MANUAL,
    )  # fmt: skip
    assert not created and again.pk == donation.pk


def test_a_donor_who_subscribes_later_is_matched_again():
    record_donation(
        email="later@example.org", amount="5", currency="USD", donated_at=timezone.now(),
        reference="l1", source=Donation.Source.MANUAL,
    )  # fmt: skip
    person = Subscriber.objects.create(email="Later@example.org", status=Subscriber.Status.CONFIRMED)
    assert relink_unmatched() == 1
    assert Donation.objects.get(reference="l1").subscriber == person


def test_erasing_a_donor_keeps_the_money_but_not_the_person():
    person = Subscriber.objects.create(email="gone@example.org", status=Subscriber.Status.CONFIRMED)
    record_donation(
        email="Gone@example.org", name="Ana", amount="5", currency="USD", donated_at=timezone.now(),
        reference="g1", source=Donation.Source.MANUAL,
    )  # fmt: skip
    assert Donation.objects.get(reference="g1").subscriber == person

    assert forget_donor(email="gone@example.org") == 1

    gift = Donation.objects.get(reference="g1")
    assert (gift.donor_email, gift.donor_name, gift.subscriber, gift.amount) == ("", "", None, Decimal("5.00"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "ana@example.org\r\nBcc: all@example.net"),
        ("email", '"ana\x01"@example.org'),
        ("email", "not an address"),
        ("name", "Ana\x00"),
        ("reference", "ref\ud800"),
        ("reference", "r" * 256),
    ],
)
def test_no_channel_can_record_a_gift_with_text_the_rules_refuse(field, value):
    gift = {"email": "ana@example.org", "name": "Ana", "reference": "ref-1"} | {field: value}

    with pytest.raises(InvalidDonation) as refused:
        record_donation(**gift, amount="20", currency="USD", donated_at=timezone.now(), source=Donation.Source.MANUAL)

    assert list(refused.value.errors) == [field]
    assert not Donation.objects.exists()
