"""manage.py import_donations: all-or-nothing, duplicates never counted twice."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.utils import timezone

from donations.models import Donation
from subscribers.models import Subscriber
from tests.support.factories import GOOD, NO_REFERENCE, make_campaign, make_list, run_import, started_appeal, write_csv

pytestmark = pytest.mark.django_db


def test_a_good_file_records_every_gift_matched_to_subscribers_by_address(tmp_path, capsys):
    ana = Subscriber.objects.create(email="ana@example.org", status=Subscriber.Status.CONFIRMED)

    run_import(write_csv(tmp_path, GOOD))

    assert Donation.objects.count() == 2
    first = Donation.objects.get(reference="ch_1")
    assert first.amount == Decimal("25.50")
    assert first.currency == "USD"
    assert first.donor_email == "ana@example.org"
    assert first.subscriber == ana
    assert first.source == Donation.Source.IMPORT
    assert timezone.localdate(first.donated_at).isoformat() == "2026-01-10"
    rosa = Donation.objects.get(reference="ch_2")
    assert rosa.recurring is True
    assert rosa.subscriber is None  # kept, listed as unmatched
    assert "2 gift(s) recorded" in capsys.readouterr().out


def test_any_bad_row_writes_nothing_and_reports_each_row(tmp_path, capsys):
    path = write_csv(
        tmp_path,
        """
email,amount,currency,date,reference
ok@example.org,10.00,USD,2026-01-10,ok_1
bad@example.org,ten,USD,2026-01-10,bad_1
bad2@example.org,1.234,USD,2026-01-10,bad_2
bad3@example.org,10,XXX,2026-01-10,bad_3
bad4@example.org,10,USD,10/01/2026,bad_4
bad5@example.org,-5,USD,2026-01-10,bad_5
not-an-email,10,USD,2026-01-10,bad_6
x@example.org,10,USD,2026-01-10,"r\x01"
""",
    )

    with pytest.raises(CommandError) as failed:
        run_import(path)

    assert failed.value.returncode == 1
    assert Donation.objects.count() == 0
    report = capsys.readouterr().err
    assert "line 3: amount" in report
    assert "line 4: amount" in report and "decimal places" in report
    assert "line 5: currency" in report
    assert "line 6: date" in report
    assert "line 7: amount" in report
    assert "line 8: email" in report
    assert "line 9: reference" in report
    assert "line 2" not in report


def test_formula_payloads_are_refused_and_not_echoed(tmp_path, capsys):
    path = write_csv(
        tmp_path,
        """
email,amount,currency,date,reference,name
a@example.org,10,USD,2026-01-10,r1,"=cmd|' /C calc'!A0"
b@example.org,10,USD,2026-01-10,@SUM(1+1),B
""",
    )
    with pytest.raises(CommandError):
        run_import(path)
    report = capsys.readouterr().err
    assert "line 2: name: Looks like a spreadsheet formula" in report
    assert "line 3: reference: Looks like a spreadsheet formula" in report
    assert "cmd|" not in report
    assert Donation.objects.count() == 0


def test_missing_columns_are_reported_for_the_file(tmp_path, capsys):
    with pytest.raises(CommandError):
        run_import(write_csv(tmp_path, "email,amount\na@example.org,10\n"))
    assert "Missing column(s): currency, date." in capsys.readouterr().err


def test_reimporting_the_same_file_counts_nothing_twice(tmp_path, capsys):
    path = write_csv(tmp_path, GOOD)
    run_import(path)
    capsys.readouterr()

    run_import(path)

    assert Donation.objects.count() == 2
    out = capsys.readouterr().out
    assert "line 2: reference: Already recorded: skipped." in out
    assert "0 gift(s) recorded, 2 duplicate(s) skipped" in out


def test_a_repeated_row_in_one_file_is_a_skipped_duplicate(tmp_path, capsys):
    path = write_csv(
        tmp_path,
        """
email,amount,currency,date,reference
a@example.org,10,USD,2026-01-10,r1
a@example.org,10,USD,2026-01-10,r1
""",
    )
    run_import(path)
    assert Donation.objects.count() == 1
    assert "line 3: reference: Same gift as line 2: skipped." in capsys.readouterr().out


def test_a_reference_reused_for_a_different_gift_fails_the_file(tmp_path, capsys):
    run_import(write_csv(tmp_path, GOOD))
    capsys.readouterr()
    path = write_csv(
        tmp_path,
        """
email,amount,currency,date,reference
new@example.org,5,USD,2026-01-12,new_1
ana@example.org,99.00,USD,2026-01-10,ch_1
""",
        name="second.csv",
    )
    with pytest.raises(CommandError):
        run_import(path)
    assert "line 3: reference: Already recorded for a different gift" in capsys.readouterr().err
    assert not Donation.objects.filter(reference="new_1").exists()


def test_the_campaign_column_attributes_by_id_or_code_inside_the_window(tmp_path, settings):
    settings.TOCSIN_ATTRIBUTION_WINDOW_DAYS = 30
    appeal = started_appeal(make_campaign([make_list()]), days_ago=2)
    today = timezone.localdate().isoformat()
    path = write_csv(
        tmp_path,
        f"""
email,amount,currency,date,reference,campaign
a@example.org,10,USD,{today},r1,{appeal.pk}
b@example.org,10,USD,{today},r2,{appeal.attribution_code}
c@example.org,10,USD,2020-01-01,r3,{appeal.attribution_code}
""",
    )
    run_import(path)
    assert Donation.objects.get(reference="r1").campaign == appeal
    assert Donation.objects.get(reference="r2").campaign == appeal
    old = Donation.objects.get(reference="r3")
    assert old.campaign is None
    assert old.attribution_code == appeal.attribution_code


def test_an_unknown_campaign_is_a_bad_row(tmp_path, capsys):
    path = write_csv(tmp_path, "email,amount,currency,date,reference,campaign\na@example.org,1,USD,2026-01-01,r,nope\n")
    with pytest.raises(CommandError):
        run_import(path)
    assert "line 2: campaign: No campaign" in capsys.readouterr().err


# --- without a reference (a spreadsheet kept by hand) -----------------------------------


def test_a_file_without_a_reference_column_records_every_gift(tmp_path, capsys):
    ana = Subscriber.objects.create(email="ana@example.org", status=Subscriber.Status.CONFIRMED)

    run_import(write_csv(tmp_path, NO_REFERENCE))

    assert "2 gift(s) recorded" in capsys.readouterr().out
    gift = Donation.objects.get(donor_email="ana@example.org")
    assert (gift.amount, gift.currency, gift.subscriber, gift.reference) == (Decimal("25.50"), "USD", ana, "")
    assert timezone.localdate(gift.donated_at).isoformat() == "2026-01-10"
    assert Donation.objects.filter(reference="").count() == 2


def test_without_a_reference_a_repeat_in_the_file_is_a_skipped_duplicate(tmp_path, capsys):
    path = write_csv(
        tmp_path,
        """
email,amount,currency,date
ana@example.org,10,USD,2026-01-10
Ana@Example.org,10.00,usd,2026-01-10
ana@example.org,10,USD,2026-01-11
ana@example.org,12,USD,2026-01-10
""",
    )

    run_import(path)

    assert Donation.objects.count() == 3  # another day or another amount is another gift
    assert "line 3: Same gift as line 2 (same email, amount, currency and date): skipped." in capsys.readouterr().out


def test_reimporting_a_file_without_references_counts_nothing_twice(tmp_path, capsys):
    path = write_csv(tmp_path, NO_REFERENCE)
    run_import(path)
    capsys.readouterr()

    run_import(path)

    assert Donation.objects.count() == 2
    out = capsys.readouterr().out
    assert "line 2: Already recorded: skipped." in out
    assert "0 gift(s) recorded, 2 duplicate(s) skipped" in out


def test_a_row_without_a_reference_is_the_gift_a_webhook_already_recorded(tmp_path, capsys):
    Donation.objects.create(
        donor_email="ana@example.org",
        amount=Decimal("25.50"),
        currency="USD",
        donated_at=timezone.make_aware(timezone.datetime(2026, 1, 10, 16, 5)),
        reference="pi_stripe_1",
        source=Donation.Source.WEBHOOK,
    )

    run_import(write_csv(tmp_path, NO_REFERENCE))

    assert Donation.objects.count() == 2
    assert "line 2: Already recorded: skipped." in capsys.readouterr().out


def test_a_row_with_a_reference_is_the_gift_recorded_earlier_without_one(tmp_path, capsys):
    run_import(write_csv(tmp_path, NO_REFERENCE))
    capsys.readouterr()
    path = write_csv(
        tmp_path,
        """
email,amount,currency,date,reference
ana@example.org,25.50,USD,2026-01-10,ch_1
ana@example.org,25.50,USD,2026-01-12,ch_2
""",
        name="stripe-export.csv",
    )

    run_import(path)

    assert Donation.objects.count() == 3
    assert "line 2: reference: Already recorded: skipped." in capsys.readouterr().out
    assert Donation.objects.filter(reference="ch_2").exists()


def test_rows_with_and_without_a_reference_mix_in_one_file(tmp_path, capsys):
    path = write_csv(
        tmp_path,
        """
email,amount,currency,date,reference
ana@example.org,10,USD,2026-01-10,
ana@example.org,10,USD,2026-01-10,ch_1
bea@example.org,10,USD,2026-01-10,ch_2
bea@example.org,10,USD,2026-01-10,
""",
    )

    run_import(path)

    assert sorted(Donation.objects.values_list("donor_email", "reference")) == [
        ("ana@example.org", ""),
        ("bea@example.org", "ch_2"),
    ]
    out = capsys.readouterr().out
    assert "line 3: Same gift as line 2" in out and "line 5: Same gift as line 4" in out


def test_the_database_keeps_one_gift_per_identity_without_a_reference_and_per_reference():
    values = {"donor_email": "ana@example.org", "amount": Decimal("10"), "currency": "USD"}
    noon = timezone.make_aware(timezone.datetime(2026, 1, 10, 12))
    Donation.objects.create(**values, donated_at=noon, reference="")
    Donation.objects.create(**values, donated_at=noon, reference="ch_1")  # a referenced gift may share it
    Donation.objects.create(**values, donated_at=noon + timezone.timedelta(days=1), reference="")

    with pytest.raises(IntegrityError), transaction.atomic():
        Donation.objects.create(**values, donated_at=noon, reference="")
    with pytest.raises(IntegrityError), transaction.atomic():
        Donation.objects.create(**values | {"amount": Decimal("11")}, donated_at=noon, reference="ch_1")
