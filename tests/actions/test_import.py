"""manage.py import_targets / import_districts and the admin import: all-or-nothing, per-row reports."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from actions.districts import find_district
from actions.models import District, PostalPrefix, Target, TargetGroup
from tests.support.personas import staff, verified

pytestmark = pytest.mark.django_db

TARGETS = """\
name,email,title,group,district,district_name,province,party,language
Ana Tremblay,Ana.Tremblay@parl.example,MP,mps,90001,Rideau North,ON,Green,fr
Ben Okafor,ben.okafor@parl.example,MP,mps,90002,Rideau East,ON,Liberal,en
Dana Whitfield,minister@gov.example,Minister of Foreign Affairs,ministers;mps,90003,Rideau West,ON,Liberal,en
"""

DISTRICTS = """\
postal_prefix,district
K1A,90001
k2b,90002
K2B,90003
K2B 9Z9,90003
"""


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_targets_are_imported_with_their_groups_and_districts(tmp_path, capsys):
    call_command("import_targets", str(write(tmp_path, TARGETS)))

    assert "3 new target(s), 0 updated" in capsys.readouterr().out
    ana = Target.objects.get(email="ana.tremblay@parl.example")
    assert (ana.name, ana.title, ana.party, ana.language, ana.province) == ("Ana Tremblay", "MP", "Green", "fr", "ON")
    assert ana.district.code == "90001" and ana.district.name == "Rideau North"
    minister = Target.objects.get(email="minister@gov.example")
    assert sorted(minister.groups.values_list("slug", flat=True)) == ["ministers", "mps"]
    assert set(TargetGroup.objects.values_list("slug", flat=True)) == {"mps", "ministers"}


def test_a_reimport_updates_by_email_and_keeps_what_the_file_does_not_say(tmp_path, capsys):
    call_command("import_targets", str(write(tmp_path, TARGETS)))
    Target.objects.filter(email="ben.okafor@parl.example").update(do_not_email=True)
    call_command(
        "import_targets",
        str(
            write(tmp_path, "name,email,title,group\nBen Okafor,BEN.OKAFOR@parl.example,Minister of Mines,ministers\n")
        ),
    )

    assert "0 new target(s), 1 updated" in capsys.readouterr().out
    assert Target.objects.count() == 3
    ben = Target.objects.get(email="ben.okafor@parl.example")
    assert ben.title == "Minister of Mines"
    # Columns the file does not have stay as they were; groups are added, never taken away.
    assert ben.party == "Liberal" and ben.district.code == "90002" and ben.do_not_email
    assert sorted(ben.groups.values_list("slug", flat=True)) == ["ministers", "mps"]


def test_do_not_email_can_be_set_from_the_file(tmp_path):
    call_command(
        "import_targets",
        str(write(tmp_path, "name,email,do_not_email\nEmbassy of Ruritania,embassy@rur.example,true\n")),
    )
    assert Target.objects.get().do_not_email is True


def test_a_file_with_one_bad_row_writes_nothing_and_reports_each_problem(tmp_path, capsys):
    bad = TARGETS + (
        "Eve,not-an-address,MP,mps,90004,,ON,,\n"
        '"=HYPERLINK(""http://evil.example"")",eve@parl.example,,,,,,,\n'
        "Fay,fay@parl.example,MP\x00,mps,,,,,xx\n"
        "Gil,gil@parl.example,MP,Members of Parliament,,Orphan district,,,\n"
        "Ana again,ana.tremblay@parl.example,MP,mps,,,,,\n"
    )
    with pytest.raises(CommandError) as failed:
        call_command("import_targets", str(write(tmp_path, bad)))

    assert failed.value.returncode == 1
    err = capsys.readouterr().err
    assert "line 5: email: Not a valid email address." in err
    assert "line 6: name: Looks like a spreadsheet formula: refused." in err
    assert (
        "line 7: title: Must be a single line without control characters." in err
        or "line 7: title: Must not contain NUL" in err
    )
    assert "line 7: language:" in err
    assert "line 8: group:" in err
    assert "line 8: district_name: A district name needs its district code too." in err
    assert "line 9: email: Same address as line 2" in err
    assert Target.objects.count() == 0
    assert District.objects.count() == 0


def test_unknown_or_missing_columns_are_refused_before_any_row(tmp_path, capsys):
    with pytest.raises(CommandError):
        call_command("import_targets", str(write(tmp_path, "name,mail\nAna,ana@parl.example\n")))
    err = capsys.readouterr().err
    assert "Missing column(s): email." in err
    assert "Unknown column(s): 'mail'" in err


def test_a_district_named_two_ways_in_one_file_is_a_bad_row(tmp_path, capsys):
    text = "name,email,district,district_name\nA,a@p.example,90001,North\nB,b@p.example,90001,South\n"
    with pytest.raises(CommandError):
        call_command("import_targets", str(write(tmp_path, text)))
    assert "line 3: district_name: District 90001 is named “North” on line 2." in capsys.readouterr().err


def test_a_file_that_is_not_utf8_is_refused(tmp_path, capsys):
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,email\nChloé,chloe@parl.example\n".encode("latin-1"))
    with pytest.raises(CommandError):
        call_command("import_targets", str(path))
    assert "not UTF-8" in capsys.readouterr().err


def test_dry_run_writes_nothing(tmp_path, capsys):
    call_command("import_targets", str(write(tmp_path, TARGETS)), "--dry-run")
    assert "3 target(s) checked, nothing written" in capsys.readouterr().out
    assert Target.objects.count() == 0


# --- districts ------------------------------------------------------------------------------


def test_districts_are_imported_and_the_longest_prefix_wins(tmp_path, capsys):
    call_command("import_districts", str(write(tmp_path, DISTRICTS)))

    assert "4 postal prefix row(s) for 3 prefix(es)" in capsys.readouterr().out
    assert set(PostalPrefix.objects.values_list("prefix", flat=True)) == {"K1A", "K2B", "K2B9Z9"}
    assert find_district("K2B 9Z9").district.code == "90003"
    assert find_district("K2B 1A1").outcome == "ambiguous"
    assert find_district("K1A 0A6").district.code == "90001"


def test_a_reimport_replaces_the_rows_of_the_prefixes_it_names_and_keeps_the_others(tmp_path):
    call_command("import_districts", str(write(tmp_path, DISTRICTS)))
    call_command("import_districts", str(write(tmp_path, "postal_prefix,district\nK2B,90002\n", "fix.csv")))

    rows = sorted(PostalPrefix.objects.values_list("prefix", "district__code"))
    assert rows == [("K1A", "90001"), ("K2B", "90002"), ("K2B9Z9", "90003")]
    assert find_district("K2B 1A1").district.code == "90002"


def test_district_names_and_provinces_can_come_with_the_prefixes(tmp_path):
    call_command(
        "import_districts",
        str(write(tmp_path, "postal_prefix,district,district_name,province\nB3H,10001,Halifax Harbour,NS\n")),
    )
    halifax = District.objects.get(code="10001")
    assert (halifax.name, halifax.province) == ("Halifax Harbour", "NS")


def test_a_bad_districts_file_writes_nothing(tmp_path, capsys):
    call_command("import_districts", str(write(tmp_path, DISTRICTS)))
    bad = "postal_prefix,district\nK1A,99999\nQQQ,90001\nK1,90001\n@K1A,90001\nK1C,\nK1D,=1+1\n"
    with pytest.raises(CommandError):
        call_command("import_districts", str(write(tmp_path, bad, "bad.csv")))
    err = capsys.readouterr().err
    for line in (3, 4, 5, 6, 7):
        assert f"line {line}:" in err
    assert "line 2:" not in err
    # The good first row was not applied either: K1A still maps to 90001 only.
    assert list(PostalPrefix.objects.filter(prefix="K1A").values_list("district__code", flat=True)) == ["90001"]
    assert not District.objects.filter(code="99999").exists()


def test_the_same_row_twice_is_skipped_and_listed(tmp_path, capsys):
    call_command("import_districts", str(write(tmp_path, "postal_prefix,district\nK1A,90001\nk1a,90001\n")))
    assert "line 3: postal_prefix: Same as line 2: skipped." in capsys.readouterr().out
    assert PostalPrefix.objects.count() == 1


# --- the admin import (django-import-export) -------------------------------------------------


def _upload(client, text: str):  # type: ignore[no-untyped-def]
    return client.post(
        reverse("admin:actions_target_import"),
        {
            "resource": "0",
            "format": "0",
            "import_file": SimpleUploadedFile("targets.csv", text.encode(), content_type="text/csv"),
        },
    )


@pytest.fixture
def admin_client_2fa(client):  # type: ignore[no-untyped-def]
    user = staff("organiser", None)
    user.is_superuser = True
    user.save()
    return verified(client, user)


def test_the_admin_import_previews_the_values_then_commits(admin_client_2fa, tmp_path):
    call_command("import_targets", str(write(tmp_path, "name,email,party\nBen Okafor,ben.okafor@parl.example,NDP\n")))
    response = _upload(admin_client_2fa, TARGETS)

    assert response.status_code == 200
    assert Target.objects.count() == 1  # a dry run first
    page = response.content.decode()
    # The preview shows the values of each row, and for Ben what changes.
    assert "Rideau North" in page and "Minister of Foreign Affairs" in page and "ministers;mps" in page
    assert "NDP" in page and "Liberal" in page
    confirm = response.context["confirm_form"]
    response = admin_client_2fa.post(
        reverse("admin:actions_target_process_import"), {**confirm.initial, "resource": "0"}
    )

    assert response.status_code == 302
    assert Target.objects.count() == 3
    assert Target.objects.get(email="ben.okafor@parl.example").party == "Liberal"
    assert sorted(Target.objects.get(email="minister@gov.example").groups.values_list("slug", flat=True)) == [
        "ministers",
        "mps",
    ]


def test_the_admin_import_reports_bad_rows_and_offers_no_commit(admin_client_2fa):
    response = _upload(
        admin_client_2fa,
        "name,email,group,language\n"
        "Ana,ana@parl.example,mps,fr\n"
        "Ben,nope,mps,en\n"
        "\"=cmd|' /C calc'!A0\",c@p.example,,xx\n",
    )
    assert response.status_code == 200
    assert response.context.get("confirm_form") is None
    errors = {row.number: row.error_dict for row in response.context["result"].invalid_rows}
    assert set(errors) == {2, 3}
    assert "email" in errors[2]
    assert "name" in errors[3] and "language" in errors[3]
    assert Target.objects.count() == 0
    assert not TargetGroup.objects.exists()


def test_the_admin_import_refuses_a_nul_in_the_email_column_without_a_500(admin_client_2fa):
    response = _upload(admin_client_2fa, "name,email\nAna,ana\x00@parl.example\n")
    assert response.status_code == 200
    assert response.context.get("confirm_form") is None
    assert Target.objects.count() == 0
