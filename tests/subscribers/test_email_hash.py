"""Every subscriber row carries the hash of its address, however it was written.

The audience SQL leaves out suppressed people by joining Suppression on this
stored hash; a row written without it would be mailed despite a suppression.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from campaigns.models import Delivery
from campaigns.sending.audience import count_audience, snapshot
from subscribers.models import MailingList, Subscriber, Suppression, email_hash
from subscribers.services import leaving, privacy
from tests.support.factories import make_campaign, make_list, make_subscriber

pytestmark = pytest.mark.django_db


def import_csv(tmp_path: Path, text: str, slug: str = "peru") -> None:
    path = tmp_path / "people.csv"
    path.write_text(text, encoding="utf-8")
    call_command("import_subscribers", str(path), "--list", slug, stdout=io.StringIO(), stderr=io.StringIO())


def stored_hashes() -> dict[str, str]:
    return dict(Subscriber.objects.values_list("email", "email_hash"))


def test_saving_a_subscriber_stores_the_hash_of_the_normalised_address():
    ana = Subscriber.objects.create(email="  Ana@Example.ORG ")

    ana.refresh_from_db()
    assert ana.email_hash == email_hash("ana@example.org")


def test_changing_the_address_changes_the_stored_hash_even_with_update_fields():
    ana = Subscriber.objects.create(email="ana@example.org")

    ana.email = "Ana.Quispe@Example.org"
    ana.save(update_fields=["email"])

    assert stored_hashes() == {"ana.quispe@example.org": email_hash("ana.quispe@example.org")}


def test_bulk_created_and_bulk_updated_subscribers_get_the_hash_too():
    Subscriber.objects.bulk_create([Subscriber(email="Ben@Example.org"), Subscriber(email="cata@example.org")])
    Subscriber.objects.filter(email="cata@example.org").update(email="Catalina@Example.org")

    assert stored_hashes() == {
        "ben@example.org": email_hash("ben@example.org"),
        "catalina@example.org": email_hash("catalina@example.org"),
    }


def _import_stores_hashes(tmp_path: Path) -> None:
    import_csv(tmp_path, "email,name\nAna@Example.org,Ana\nben@example.org,\n")

    assert stored_hashes() == {
        "ana@example.org": email_hash("ana@example.org"),
        "ben@example.org": email_hash("ben@example.org"),
    }


def test_csv_import_stores_the_hash_of_every_new_subscriber(tmp_path):
    _import_stores_hashes(tmp_path)


@pytest.mark.postgres
def test_csv_import_through_postgres_copy_stores_the_hash_of_every_new_subscriber(tmp_path):
    _import_stores_hashes(tmp_path)


def test_an_imported_address_suppressed_later_gets_neither_counted_nor_snapshotted(tmp_path):
    import_csv(tmp_path, "email\nana@example.org\nben@example.org\ncata@example.org\n")
    # A suppression that arrives without touching the subscriber row (e.g. from
    # another stream, recorded by hash only): only the stored hash can match it.
    Suppression.objects.create(email_hash=email_hash("ben@example.org"), reason=Suppression.Reason.COMPLAINED)
    campaign = make_campaign([MailingList.objects.get(slug="peru")])

    assert count_audience(campaign) == 2
    assert snapshot(campaign) == 2
    recipients = set(Delivery.objects.filter(campaign=campaign).values_list("subscriber__email", flat=True))
    assert recipients == {"ana@example.org", "cata@example.org"}


def test_lifting_a_suppression_puts_the_address_back_in_the_audience(tmp_path):
    import_csv(tmp_path, "email\nana@example.org\nben@example.org\n")
    Suppression.objects.create(email_hash=email_hash("ben@example.org"), reason=Suppression.Reason.BOUNCED)
    campaign = make_campaign([MailingList.objects.get(slug="peru")])
    assert count_audience(campaign) == 1

    leaving.lift_suppression(email="ben@example.org")

    assert count_audience(campaign) == 2


def test_erasure_hashes_the_placeholder_and_the_suppression_keeps_the_original(tmp_path):
    peru = make_list("peru")
    ana = make_subscriber("ana@example.org", lists=[peru])

    privacy.erase(subscriber=ana, actor=None)

    ana.refresh_from_db()
    assert ana.email_hash == email_hash(ana.email) != email_hash("ana@example.org")
    assert Suppression.objects.filter(email_hash=email_hash("ana@example.org")).exists()
    # The erased address stays out even when it comes back in a file.
    import_csv(tmp_path, "email\nana@example.org\n")
    assert count_audience(make_campaign([peru])) == 0
