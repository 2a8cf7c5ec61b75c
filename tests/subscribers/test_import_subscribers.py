"""manage.py import_subscribers FILE.csv --list SLUG: all-or-nothing, suppression-aware."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from subscribers.models import Consent, MailingList, Subscriber, Subscription
from subscribers.services import leaving, privacy
from tests.support.factories import active_slugs, make_list, make_subscriber

pytestmark = pytest.mark.django_db


def write_csv(tmp_path: Path, text: str, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_import(path: Path, slug: str = "peru") -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_subscribers", str(path), "--list", slug, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing_import(path: Path, slug: str = "peru") -> str:
    err = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_subscribers", str(path), "--list", slug, stdout=io.StringIO(), stderr=err)
    return err.getvalue() + str(failure.value)


def test_it_creates_the_list_and_confirmed_subscribers_with_their_consent(tmp_path):
    path = write_csv(
        tmp_path,
        "email,name,language,consent_source,consent_date\n"
        "Ana@Example.org,Ana Quispe,es,Lima march sign-up sheet,2024-03-08\n"
        "ben@example.org,,,,\n",
    )

    out, _ = run_import(path)

    mailing_list = MailingList.objects.get(slug="peru")
    assert not mailing_list.public
    ana = Subscriber.objects.get(email="ana@example.org")
    assert ana.status == Subscriber.Status.CONFIRMED
    assert ana.name == "Ana Quispe"
    assert ana.language == "es"
    assert active_slugs(ana) == {"peru"}
    assert Subscriber.objects.get(email="ben@example.org").language == "en"
    consent = ana.consents.get()
    assert consent.action == Consent.Action.IMPORT
    assert consent.source == Consent.Source.IMPORT
    assert consent.basis == Consent.Basis.EXPRESS
    assert consent.lists == ["peru"]
    assert consent.detail == "people.csv: Lima march sign-up sheet"
    assert consent.requested_at.date().isoformat() == "2024-03-08"
    assert "2 new subscribers" in out


def test_existing_subscribers_get_the_list_added_and_keep_their_data(tmp_path):
    ana = make_subscriber("ana@example.org", lists=[make_list("canada")], name="Ana", language="fr")
    path = write_csv(tmp_path, "email,name,language\nana@example.org,Someone Else,en\n")

    out, _ = run_import(path)

    ana.refresh_from_db()
    assert active_slugs(ana) == {"canada", "peru"}
    assert (ana.name, ana.language) == ("Ana", "fr")
    assert "1 existing ones added" in out


def test_a_pending_sign_up_becomes_confirmed_by_import(tmp_path):
    pending = make_subscriber("pending@example.org", status=Subscriber.Status.PENDING)
    run_import(write_csv(tmp_path, "email\npending@example.org\n"))

    pending.refresh_from_db()
    assert pending.status == Subscriber.Status.CONFIRMED


def test_running_the_same_file_twice_adds_nothing_twice(tmp_path):
    path = write_csv(tmp_path, "email\nana@example.org\nben@example.org\n")
    run_import(path)
    out, _ = run_import(path)

    assert Subscriber.objects.count() == 2
    assert Subscription.objects.count() == 2
    assert Consent.objects.count() == 2
    assert "2 already on the list" in out


@pytest.mark.parametrize(
    "how",
    [
        lambda s: leaving.unsubscribe(subscriber=s, channel=Consent.Channel.ONE_CLICK),
        lambda s: leaving.suppress(email=s.email, reason="bounced"),
        lambda s: leaving.suppress(email=s.email, reason="complained"),
    ],
    ids=["unsubscribed", "bounced", "complained"],
)
def test_it_never_resubscribes_a_suppressed_address(tmp_path, how):
    gone = make_subscriber("gone@example.org", lists=[make_list("peru")])
    how(gone)
    gone.refresh_from_db()
    before = (gone.status, active_slugs(gone), gone.consents.count())

    out, _ = run_import(write_csv(tmp_path, "email\nGONE@example.org\nnew@example.org\n"))

    gone.refresh_from_db()
    assert (gone.status, active_slugs(gone), gone.consents.count()) == before
    assert gone.status != Subscriber.Status.CONFIRMED
    assert "line 2: email: skipped: suppressed" in out
    assert Subscriber.objects.filter(email="new@example.org").exists()


def test_it_never_reimports_an_erased_address(tmp_path):
    erased = make_subscriber("erased@example.org")
    privacy.erase(subscriber=erased, actor=None)

    out, _ = run_import(write_csv(tmp_path, "email\nerased@example.org\n"))

    assert not Subscriber.objects.filter(email="erased@example.org").exists()
    assert "skipped: suppressed" in out


def test_suppressed_without_a_subscriber_is_skipped_too(tmp_path):
    leaving.suppress(email="bounced@other-stream.org", reason="bounced")

    out, _ = run_import(write_csv(tmp_path, "email\nbounced@other-stream.org\n"))

    assert not Subscriber.objects.exists()
    assert "skipped: suppressed (Hard bounce)" in out


def test_it_does_not_put_someone_back_on_a_list_they_left(tmp_path):
    peru = make_list("peru")
    ana = make_subscriber("ana@example.org", lists=[peru, make_list("canada")])
    leaving.unsubscribe(subscriber=ana, channel=Consent.Channel.PREFERENCES, lists=[peru])

    out, _ = run_import(write_csv(tmp_path, "email\nana@example.org\n"))

    assert active_slugs(ana) == {"canada"}
    assert "left list" in out


def test_duplicate_rows_are_imported_once(tmp_path):
    out, _ = run_import(write_csv(tmp_path, "email\nana@example.org\nANA@example.org\n"))

    assert Subscriber.objects.count() == 1
    assert "line 3: email: same address as line 2" in out


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("not-an-email,Ana,en,,", "not a valid address"),
        ("ana@example.org,Ana,xx,,", "'xx' is not one of en, es, fr"),
        ("ana@example.org,Ana,en,,31/12/2023", "is not a date"),
        ("ana@example.org,Ana,en,,2098-01-01", "is in the future"),
        ("ana@example.org,=cmd|' /C calc'!A0,en,,", "looks like a spreadsheet formula"),
        ("ana@example.org,+SUM(A1),en,,", "looks like a spreadsheet formula"),
        ("ana@example.org,Ana,en,@HYPERLINK(x),", "looks like a spreadsheet formula"),
        ('"ana@example.org\r\nBcc: victim@example.org",Ana,en,,', "header injection"),
        ('ana@example.org,"Ana\nBcc: x@example.org",en,,', "header injection"),
        ("ana@example.org,<script>alert(1)</script>,en,,", "without HTML, links or web addresses"),
        ("ana@example.org,Win money at evil.example/claim,en,,", "without HTML, links or web addresses"),
        ("ana@example.org,Ana\u202eanA,en,,", "invisible or text-direction control characters"),
        ("ana@[127.0.0.1],Ana,en,,", "not an IP address"),
        ("ana@example.org,Ana,en,,0001-01-01T00:00:00+14:00", "is outside 1900-01-01 to 2099-12-31"),
        ("ana@example.org,Ana,en,,1850-06-01", "is outside 1900-01-01 to 2099-12-31"),
        ("ana@example.org,Ana\x00,en,,", "header injection"),
        ("a" * 250 + "@example.org,Ana,en,,", "longer than 254"),
        (",Ana,en,,", "not a valid address"),
        ("ana@example.org,Ana,en,,,extra", "6 cells"),
    ],
)
def test_a_bad_row_is_reported_and_nothing_is_written(tmp_path, row, expected):
    path = write_csv(
        tmp_path,
        "email,name,language,consent_source,consent_date\nfine@example.org,Fine,en,,\n" + row + "\n",
    )

    report = run_failing_import(path)

    assert "line 3" in report
    assert expected in report
    assert "nothing was imported" in report
    assert not Subscriber.objects.exists()
    assert not MailingList.objects.exists()
    assert not Consent.objects.exists()


def test_every_bad_row_is_reported_at_once(tmp_path):
    path = write_csv(tmp_path, "email,language\nbad1,en\nok@example.org,en\nbad2@,en\nok2@example.org,zz\n")

    report = run_failing_import(path)

    assert "line 2: email" in report
    assert "line 4: email" in report
    assert "line 5: language" in report
    assert "3 problem(s)" in report


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty"),
        ("name,language\nAna,en\n", "no “email” column"),
        ("email,phone\nana@example.org,123\n", "unknown column"),
        ("email\n", "no rows"),
        ("email,email\na@example.org,b@example.org\n", "appears twice"),
    ],
)
def test_a_file_with_wrong_columns_gets_a_clear_answer(tmp_path, text, expected):
    report = run_failing_import(write_csv(tmp_path, text))

    assert expected in report
    assert not MailingList.objects.exists()


def test_a_file_that_is_not_utf8_gets_a_clear_answer(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("email,name\nana@example.org,Mar\xeda\n".encode("latin-1"))

    assert "not UTF-8" in run_failing_import(path)
    assert not Subscriber.objects.exists()


def test_a_bad_list_slug_is_refused(tmp_path):
    report = run_failing_import(write_csv(tmp_path, "email\nana@example.org\n"), slug="no spaces/here")

    assert "not a valid list slug" in report
    assert not MailingList.objects.exists()


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_subscribers", str(tmp_path / "nope.csv"), "--list", "peru")


def test_header_names_are_forgiving_about_case_spaces_and_bom(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffEmail , Name\r\nana@example.org,Ana\r\n".encode())

    run_import(path)

    assert Subscriber.objects.get().name == "Ana"


def test_language_variants_are_understood(tmp_path):
    run_import(write_csv(tmp_path, "email,language\nana@example.org,es_PE\nben@example.org,FR-ca\n"))

    assert dict(Subscriber.objects.values_list("email", "language")) == {
        "ana@example.org": "es",
        "ben@example.org": "fr",
    }


def test_many_rows_are_imported_in_one_go(tmp_path):
    lines = ["email,name"] + [f"person{i}@example.org,Person {i}" for i in range(5000)]
    make_subscriber("person7@example.org", lists=[make_list("canada")])

    out, _ = run_import(write_csv(tmp_path, "\n".join(lines) + "\n"))

    assert Subscriber.objects.count() == 5000
    assert Subscription.objects.filter(mailing_list__slug="peru").count() == 5000
    assert Consent.objects.filter(action=Consent.Action.IMPORT).count() == 5000
    assert "4999 new subscribers, 1 existing ones added" in out


def test_the_command_exits_with_status_1_on_a_bad_file(tmp_path):
    path = write_csv(tmp_path, "email\nnot-an-email\n")
    completed = subprocess.run(
        [sys.executable, "manage.py", "import_subscribers", str(path), "--list", "peru"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
            "CACHE_URL": "locmem://",
            "TOCSIN_VAR_DIR": str(tmp_path),
        },
        check=False,
    )

    assert completed.returncode == 1
    assert "line 2: email" in completed.stderr
