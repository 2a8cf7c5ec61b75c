"""manage.py import_suppressions FILE.csv: the unsubscribes, bounces and complaints another provider recorded."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from campaigns.sending.audience import count_audience
from subscribers.models import Consent, Subscriber, Suppression, email_hash
from subscribers.services import is_suppressed
from tests.support.factories import active_slugs, make_campaign, make_list, make_subscriber

pytestmark = pytest.mark.django_db

MAILCHIMP_COMMON = (
    '"Email Address","First Name","Last Name","MEMBER_RATING","OPTIN_TIME","OPTIN_IP","CONFIRM_TIME",'
    '"CONFIRM_IP","LATITUDE","LONGITUDE","GMTOFF","DSTOFF","TIMEZONE","CC","REGION"'
)
MAILCHIMP_UNSUBSCRIBED = (
    MAILCHIMP_COMMON + ',"UNSUB_TIME","UNSUB_CAMPAIGN_TITLE","UNSUB_CAMPAIGN_ID","UNSUB_REASON","UNSUB_REASON_OTHER",'
    '"LEID","EUID","NOTES","TAGS"\n'
    '"ana@example.org","Ana","Quispe",2,"2019-01-02 10:00:00",,"2019-01-02 10:01:00",,,,,,,,,'
    '"2023-04-05 06:07:08","Spring appeal","abc123","NORMAL",,"111","aaa",,\n'
    '"ben@example.org","Ben","Ruiz",2,"2019-01-02 10:00:00",,"2019-01-02 10:01:00",,,,,,,,,'
    '"2023-05-06 07:08:09","Spring appeal","abc123","NORMAL",,"112","aab",,\n'
)
MAILCHIMP_CLEANED = (
    MAILCHIMP_COMMON + ',"CLEAN_TIME","CLEAN_CAMPAIGN_TITLE","CLEAN_CAMPAIGN_ID","LEID","EUID","NOTES","TAGS"\n'
    '"dead@example.org","","",1,"2018-01-02 10:00:00",,,,,,,,,,,"2022-02-03 04:05:06","Winter news","def456",'
    '"113","aac",,\n'
)


def write(tmp_path: Path, text: str, name: str = "suppressions.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(path: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("import_suppressions", str(path), *args, stdout=out, stderr=out)
    return out.getvalue()


def reason_of(address: str) -> str:
    return Suppression.objects.get(email_hash=email_hash(address)).reason


@pytest.mark.parametrize("reason", ["unsubscribed", "bounced", "complained"])
def test_each_reason_from_the_command_line(tmp_path, reason):
    output = run(write(tmp_path, "email\nnobody@example.org\n"), "--reason", reason)
    assert reason_of("nobody@example.org") == reason
    assert "Newly suppressed: 1." in output


def test_a_reason_column_wins_per_row_and_dates_are_kept(tmp_path):
    path = write(
        tmp_path,
        "email,reason,date\nuno@example.org,bounced,2024-03-01\ndos@example.org,complained,\n"
        "tres@example.org,unsubscribed,2024-03-02T10:00:00+00:00\n",
        "old-provider.csv",
    )
    run(path)
    assert reason_of("uno@example.org") == "bounced"
    assert reason_of("dos@example.org") == "complained"
    assert reason_of("tres@example.org") == "unsubscribed"
    kept = Suppression.objects.get(email_hash=email_hash("uno@example.org"))
    assert kept.occurred_at is not None and kept.occurred_at.date().isoformat() == "2024-03-01"
    assert "old-provider.csv" in kept.source and "line 2" in kept.source


def test_mailchimp_unsubscribed_export_as_it_comes(tmp_path):
    ana = make_subscriber("ana@example.org", lists=[make_list("peru"), make_list("canada")])
    output = run(write(tmp_path, MAILCHIMP_UNSUBSCRIBED, "unsubscribed_members_export_1a2b.csv"))
    assert "Mailchimp" in output
    assert reason_of("ana@example.org") == "unsubscribed"
    assert reason_of("ben@example.org") == "unsubscribed"
    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.UNSUBSCRIBED
    assert active_slugs(ana) == set()
    kept = Suppression.objects.get(email_hash=email_hash("ana@example.org"))
    assert kept.occurred_at is not None and kept.occurred_at.isoformat().startswith("2023-04-05T06:07:08")
    # The consent history says it was this file.
    evidence = ana.consents.filter(action=Consent.Action.SUPPRESS).get()
    assert evidence.source == Consent.Source.IMPORT
    assert "unsubscribed_members_export_1a2b.csv" in evidence.detail


def test_mailchimp_cleaned_export_is_hard_bounces(tmp_path):
    output = run(write(tmp_path, MAILCHIMP_CLEANED, "cleaned_members_export_1a2b.csv"))
    assert reason_of("dead@example.org") == "bounced"
    assert "Newly suppressed: 1." in output


def test_mailchimp_subscribed_export_is_refused(tmp_path):
    subscribed = MAILCHIMP_COMMON + ',"LEID"\n"ok@example.org","","",2,,,,,,,,,,,,"1"\n'
    with pytest.raises(CommandError, match="subscribed"):
        run(write(tmp_path, subscribed))
    assert not Suppression.objects.exists()


def test_an_existing_subscriber_leaves_every_list_and_no_campaign_reaches_them(tmp_path):
    peru, canada = make_list("peru"), make_list("canada")
    ana = make_subscriber("ana@example.org", lists=[peru, canada])
    make_subscriber("carla@example.org", lists=[peru])
    campaign = make_campaign([peru, canada])
    assert count_audience(campaign) == 2
    run(write(tmp_path, "email\nANA@example.org\n"), "--reason", "complained")
    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.COMPLAINED
    assert active_slugs(ana) == set()
    assert ana.consents.filter(action=Consent.Action.UNSUBSCRIBE).exists()
    assert count_audience(make_campaign([peru, canada])) == 1


def test_an_unknown_address_never_becomes_a_subscriber(tmp_path):
    run(write(tmp_path, "email\nstranger@example.org\n"), "--reason", "bounced")
    assert not Subscriber.objects.filter(email="stranger@example.org").exists()
    assert is_suppressed("stranger@example.org")


def test_a_second_import_changes_nothing(tmp_path):
    make_subscriber("ana@example.org", lists=[make_list("peru")])
    path = write(tmp_path, MAILCHIMP_UNSUBSCRIBED, "unsubscribed_members.csv")
    run(path)
    consents, suppressions = Consent.objects.count(), Suppression.objects.count()
    output = run(path)
    assert "Already suppressed: 2." in output
    assert "Newly suppressed: 0." in output
    assert (Consent.objects.count(), Suppression.objects.count()) == (consents, suppressions)


def test_bad_rows_are_reported_with_their_line_and_the_rest_imported(tmp_path):
    text = (
        "email,reason,date\n"
        "good@example.org,bounced,\n"
        "not-an-email,bounced,\n"
        "nul\x00@example.org,bounced,\n"
        "future@example.org,bounced,2999-01-01\n"
        "soon@example.org,bounced,2090-01-01\n"
        f"{'a' * 1_000_000}@example.org,bounced,\n"
        "odd@example.org,sometimes,\n"
        "last@example.org,complained,\n"
    )
    output = run(write(tmp_path, text))
    for line in (3, 4, 5, 6, 7, 8):
        assert f"line {line}:" in output
    assert is_suppressed("good@example.org") and is_suppressed("last@example.org")
    assert Suppression.objects.count() == 2
    assert "Newly suppressed: 2." in output and "Bad rows skipped: 6." in output


def test_bytes_that_are_not_utf8_are_a_bad_row_not_a_crash(tmp_path):
    path = tmp_path / "broken.csv"
    # A UTF-8-encoded lone surrogate (CESU-8), then a Latin-1 "é".
    path.write_bytes(b"email\ngood@example.org\n\xed\xa0\x80@example.org\njos\xe9@example.org\n")
    output = run(path, "--reason", "bounced")
    assert "line 3:" in output and "line 4:" in output and "UTF-8" in output
    assert Suppression.objects.count() == 1 and is_suppressed("good@example.org")


def test_a_utf16_file_is_a_clear_error(tmp_path):
    path = tmp_path / "suppressions.csv"
    path.write_bytes("email\nana@example.org\n".encode("utf-16"))
    with pytest.raises(CommandError, match="UTF-8"):
        run(path, "--reason", "bounced")
    assert not Suppression.objects.exists()


def test_a_spreadsheet_instead_of_a_csv_is_a_clear_error(tmp_path):
    path = tmp_path / "suppressions.xlsx"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xff\xfe binary")
    with pytest.raises(CommandError, match="CSV"):
        run(path, "--reason", "bounced")


def test_a_file_without_an_email_column_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="email"):
        run(write(tmp_path, "name,phone\nAna,123\n"), "--reason", "bounced")


def test_a_generic_file_needs_a_reason(tmp_path):
    with pytest.raises(CommandError, match="--reason"):
        run(write(tmp_path, "email\nana@example.org\n"))


def test_dry_run_writes_nothing(tmp_path):
    ana = make_subscriber("ana@example.org", lists=[make_list("peru")])
    output = run(write(tmp_path, MAILCHIMP_UNSUBSCRIBED), "--dry-run")
    assert "Dry run" in output and "Newly suppressed: 2." in output and "Subscribers taken off every list: 1." in output
    assert not Suppression.objects.exists()
    assert active_slugs(ana) == {"peru"}


def test_the_free_text_unsubscribe_reason_is_not_kept(tmp_path):
    # The suppression outlives GDPR erasure: what the person typed ("I am Ana Quispe…") must not ride on it.
    text = MAILCHIMP_UNSUBSCRIBED.replace('"NORMAL",,"111"', '"OTHER","I am Ana Quispe, stop","111"')
    run(write(tmp_path, text))
    kept = Suppression.objects.get(email_hash=email_hash("ana@example.org"))
    assert "Spring appeal" in kept.detail
    assert "Quispe" not in kept.detail
