"""The admin's gift import (django-import-export): a preview first, all-or-nothing, what the page explains."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from donations.models import Donation
from subscribers.models import Subscriber
from tests.support.factories import GOOD, NO_REFERENCE, run_import, write_csv
from tests.support.personas import staff, verified

pytestmark = pytest.mark.django_db


def _upload(client, text: str):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("admin:donations_donation_import"),
        {
            "resource": "0",
            "format": "0",
            "import_file": SimpleUploadedFile("gifts.csv", text.lstrip().encode(), content_type="text/csv"),
        },
    )


@pytest.fixture
def admin_client_2fa(client):  # type: ignore[no-untyped-def]
    user = staff("treasurer", None)
    user.is_superuser = True
    user.save()
    return verified(client, user)


def test_the_admin_import_previews_then_commits_a_good_file(admin_client_2fa):
    response = _upload(admin_client_2fa, GOOD)

    assert response.status_code == 200
    assert Donation.objects.count() == 0  # a dry run first
    confirm = response.context["confirm_form"]
    assert confirm is not None

    response = admin_client_2fa.post(
        reverse("admin:donations_donation_process_import"), {**confirm.initial, "resource": "0"}
    )
    assert response.status_code == 302
    assert Donation.objects.count() == 2
    assert Donation.objects.get(reference="ch_1").amount == Decimal("25.50")


def test_the_admin_import_reports_bad_rows_and_offers_no_commit(admin_client_2fa):
    response = _upload(
        admin_client_2fa,
        """
email,amount,currency,date,reference
ok@example.org,10,USD,2026-01-10,ok_1
bad@example.org,ten,EUR,2026-01-10,bad_1
bad@example.org,10,ZZZ,2026-01-10,"=cmd|' /C calc'!A0"
""",
    )
    assert response.status_code == 200
    assert response.context.get("confirm_form") is None
    result = response.context["result"]
    assert result.has_validation_errors()
    errors = {row.number: row.error_dict for row in result.invalid_rows}
    assert set(errors) == {2, 3}
    assert "amount" in errors[2]
    assert "currency" in errors[3] and "reference" in errors[3]
    assert Donation.objects.count() == 0


def test_a_file_that_turned_bad_after_the_preview_commits_nothing(admin_client_2fa):
    response = _upload(admin_client_2fa, GOOD)
    confirm = response.context["confirm_form"]
    # Between preview and confirmation a webhook records ch_1 with another amount.
    Donation.objects.create(
        donor_email="ana@example.org",
        amount=Decimal("1.00"),
        currency="USD",
        donated_at=timezone.now(),
        reference="ch_1",
    )

    admin_client_2fa.post(reverse("admin:donations_donation_process_import"), {**confirm.initial, "resource": "0"})

    assert list(Donation.objects.values_list("reference", flat=True)) == ["ch_1"]


def test_unmatched_donors_are_listed_by_a_filter(admin_client_2fa, tmp_path):
    Subscriber.objects.create(email="ana@example.org", status=Subscriber.Status.CONFIRMED)
    run_import(write_csv(tmp_path, GOOD))

    page = admin_client_2fa.get(reverse("admin:donations_donation_changelist") + "?matched=no")

    assert page.status_code == 200
    assert [d.reference for d in page.context["cl"].result_list] == ["ch_2"]
    assert "rosa@example.org" in page.content.decode()


def test_staff_can_record_a_gift_by_hand_matched_to_its_subscriber(admin_client_2fa):
    ana = Subscriber.objects.create(email="ana@example.org", status=Subscriber.Status.CONFIRMED)
    assert admin_client_2fa.get(reverse("admin:donations_donation_add")).status_code == 200

    response = admin_client_2fa.post(
        reverse("admin:donations_donation_add"),
        {
            "amount": "12.50",
            "currency": "USD",
            "donated_at_0": "2026-01-10",
            "donated_at_1": "10:00:00",
            "donor_email": "Ana@Example.org",
            "donor_name": "Ana",
            "source": "manual",
            "reference": "cash-2026-001",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    gift = Donation.objects.get(reference="cash-2026-001")
    assert (gift.subscriber, gift.donor_email, gift.amount) == (ana, "ana@example.org", Decimal("12.50"))


def test_the_admin_import_takes_a_file_without_references_and_skips_what_is_recorded(admin_client_2fa):
    Donation.objects.create(
        donor_email="rosa@example.org",
        amount=Decimal("1000"),
        currency="PEN",
        donated_at=timezone.make_aware(timezone.datetime(2026, 1, 11, 9)),
        reference="pi_1",
    )
    text = NO_REFERENCE + "ana@example.org,25.5,usd,2026-01-10,Ana Quispe\n"

    response = _upload(admin_client_2fa, text)

    assert response.status_code == 200
    result = response.context["result"]
    assert not result.has_errors() and not result.has_validation_errors()
    assert [row.import_type for row in result.rows] == ["new", "skip", "skip"]
    confirm = response.context["confirm_form"]
    admin_client_2fa.post(reverse("admin:donations_donation_process_import"), {**confirm.initial, "resource": "0"})
    assert sorted(Donation.objects.values_list("donor_email", "reference")) == [
        ("ana@example.org", ""),
        ("rosa@example.org", "pi_1"),
    ]


# --- what the admin's import page tells and shows --------------------------------------


def test_the_import_page_lists_the_columns_their_formats_and_offers_a_sample(admin_client_2fa):
    page = admin_client_2fa.get(reverse("admin:donations_donation_import")).content.decode()

    guide = page.split('class="import-columns"')[1].split("</ul>")[0]
    for column in ["email", "amount", "currency", "date"]:
        assert f'<code>{column}</code> ·\n        <span class="required">required</span>' in guide
    assert "<code>reference</code> ·\n        <span>optional</span>" in guide
    assert "YYYY-MM-DD" in guide and "A dot before the cents" in guide
    assert reverse("admin:donations_donation_import_sample") in page


def test_the_sample_file_is_a_file_the_import_takes(admin_client_2fa, tmp_path, capsys):
    response = admin_client_2fa.get(reverse("admin:donations_donation_import_sample"))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert text.splitlines()[0] == "email,amount,currency,date,reference,campaign,recurring,name,provider"
    run_import(write_csv(tmp_path, text))
    assert "2 gift(s) recorded" in capsys.readouterr().out
    assert sorted(Donation.objects.values_list("reference", flat=True)) == ["", "ch_3NkExample"]


def test_the_sample_file_needs_the_import_permission(client):
    verified(client, staff("writer", None))
    assert client.get(reverse("admin:donations_donation_import_sample")).status_code == 403


def test_the_preview_shows_each_gift_as_it_will_be_recorded(admin_client_2fa):
    response = _upload(admin_client_2fa, GOOD)

    [ana, rosa] = response.context["result"].valid_rows()
    headers = response.context["result"].diff_headers
    shown = dict(zip(headers, [re.sub(r"<[^>]+>", "", cell) for cell in ana.diff], strict=True))
    assert shown == {
        "email": "ana@example.org",  # as recorded: lower case
        "amount": "25.50",
        "currency": "USD",
        "date": "2026-01-10",
        "reference": "ch_1",
        "campaign": "",
        "recurring": "false",
        "name": "Ana Quispe",
        "provider": "",
    }
    assert "true" in [re.sub(r"<[^>]+>", "", cell) for cell in rosa.diff]


def test_a_gift_entered_by_hand_twice_without_a_reference_is_a_form_error(admin_client_2fa):
    form = {
        "amount": "12.50",
        "currency": "USD",
        "donated_at_0": "2026-01-10",
        "donated_at_1": "10:00:00",
        "donor_email": "ana@example.org",
        "source": "manual",
        "reference": "",
    }
    assert admin_client_2fa.post(reverse("admin:donations_donation_add"), form).status_code == 302

    again = admin_client_2fa.post(reverse("admin:donations_donation_add"), form)

    assert again.status_code == 200  # the form again, with the error
    assert "without a reference is already recorded" in str(again.context["adminform"].form.errors)
    assert Donation.objects.count() == 1
