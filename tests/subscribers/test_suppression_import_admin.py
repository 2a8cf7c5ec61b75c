"""The admin's "Import suppressions" page: preview, then confirm; staff with the permission only."""

from __future__ import annotations

import os
import re
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from campaigns.models import AuditLog
from subscribers.admin.suppressions import kept_folder
from subscribers.models import Subscriber, Suppression
from subscribers.services import is_suppressed
from tests.support.factories import active_slugs, make_list, make_subscriber
from tests.support.personas import admin, verified, writer

pytestmark = pytest.mark.django_db

PAGE = "admin:subscribers_subscriber_import_suppressions"
CLEANED = (
    '"Email Address","First Name","MEMBER_RATING","CLEAN_TIME","CLEAN_CAMPAIGN_TITLE","CLEAN_CAMPAIGN_ID","LEID"\n'
    '"ana@example.org","Ana",2,"2022-02-03 04:05:06","Winter news","def456","113"\n'
    '"gone@example.org","",1,"2022-02-03 04:05:06","Winter news","def456","114"\n'
    '"not-an-address","",1,"2022-02-03 04:05:06","Winter news","def456","115"\n'
)


def upload(text: str | bytes, name: str = "cleaned_members_export_1.csv") -> SimpleUploadedFile:
    data = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/csv")


def preview(client: Client, text: str | bytes, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(reverse(PAGE), {"file": upload(text), **extra})


def token_of(body: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', body)
    assert found, body
    return found.group(1)


def test_preview_writes_nothing_then_confirm_imports_and_is_audited():
    ana = make_subscriber("ana@example.org", lists=[make_list("peru")])
    client = verified(Client(), admin())
    response = preview(client, CLEANED)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Confirm import" in body
    assert "Dry run" in body and "Newly suppressed: 2." in body
    assert "line 4" in body
    assert not Suppression.objects.exists()

    done = client.post(reverse(PAGE), {"token": token_of(body), "reason": "", "filename": "cleaned.csv"})
    assert done.status_code == 200
    assert "Imported." in done.content.decode()
    assert is_suppressed("ana@example.org") and is_suppressed("gone@example.org")
    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.BOUNCED and active_slugs(ana) == set()
    assert not Subscriber.objects.filter(email="gone@example.org").exists()
    kept = Suppression.objects.exclude(actor=None).count()
    assert kept == 2
    assert AuditLog.objects.filter(action="import_suppressions").exists()

    # The same preview cannot be confirmed twice.
    again = client.post(reverse(PAGE), {"token": token_of(body), "reason": "", "filename": "cleaned.csv"})
    assert "expired" in again.content.decode()


def test_writers_get_403_on_the_page_and_the_sample():
    client = verified(Client(), writer())
    assert client.get(reverse(PAGE)).status_code == 403
    assert preview(client, CLEANED).status_code == 403
    assert client.get(reverse(PAGE + "_sample")).status_code == 403
    assert not Suppression.objects.exists()


def test_the_page_offers_a_sample_file_that_imports():
    client = verified(Client(), admin())
    page = client.get(reverse(PAGE)).content.decode()
    assert reverse(PAGE + "_sample") in page
    sample = client.get(reverse(PAGE + "_sample"))
    assert sample.status_code == 200
    response = preview(client, sample.content)
    assert "Newly suppressed: 3." in response.content.decode()


def test_the_subscriber_list_links_the_page_for_those_allowed():
    page = verified(Client(), admin()).get(reverse("admin:subscribers_subscriber_changelist")).content.decode()
    assert reverse(PAGE) in page


@pytest.mark.parametrize(
    "hostile",
    [
        b"email\nnul\x00@example.org\n",
        b"email\n" + b"a" * 1_000_000 + b"@example.org\n",
        b"email\n\xed\xa0\x80@example.org\n",
        b"\xff\xfee\x00m\x00a\x00i\x00l\x00",
        b"PK\x03\x04\x00\x00binary",
        b"",
        b"email,reason\nok@example.org,bounced\n" + "\ud800".encode("utf-8", "surrogatepass"),
    ],
)
def test_hostile_files_never_500(hostile):
    client = verified(Client(), admin())
    response = preview(client, hostile, reason="bounced")
    assert response.status_code == 200
    assert not Suppression.objects.exists()


def test_a_forged_confirmation_is_refused_cleanly():
    client = verified(Client(), admin())
    for token in ["../../etc/passwd", "x" * 30]:
        response = client.post(reverse(PAGE), {"token": token, "filename": "../a.csv", "reason": "x"})
        assert response.status_code == 200
        assert "expired" in response.content.decode()
    # Control characters in any field: the site-wide guard answers 400.
    response = client.post(reverse(PAGE), {"token": "\x00" * 30, "filename": "a\x00.csv"})
    assert response.status_code == 400
    assert not Suppression.objects.exists()


def test_a_preview_left_unconfirmed_for_a_day_is_deleted_by_the_next_one():
    client = verified(Client(), admin())
    first = token_of(preview(client, CLEANED).content.decode())
    old = next(kept_folder().glob(f"*-{first}.csv"))
    day_ago = time.time() - 25 * 3600
    os.utime(old, (day_ago, day_ago))
    preview(client, CLEANED)
    assert not old.exists()
