"""Show in the public archive, per campaign: bulletins by default, alerts and appeals only when staff choose."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from campaigns.models import AuditLog, Campaign
from campaigns.staff.roles import SENDER
from tests.support import personas
from tests.support.factories import campaign, mailing_list
from tests.support.forms import form_data
from tests.support.personas import bearer, sender, staff, token_for, verified

ROOT = Path(__file__).resolve().parents[2]
DEFENDER = "Berta Quispe detained in Cajamarca"


def sent(**fields):  # type: ignore[no-untyped-def]
    made = campaign(status=Campaign.Status.SENT, **fields)
    Campaign.objects.filter(pk=made.pk).update(started_at=timezone.now(), finished_at=timezone.now())
    made.refresh_from_db()
    return made


def archive_pages(client) -> str:  # type: ignore[no-untyped-def]
    return client.get("/bulletins/").content.decode() + client.get("/").content.decode()


@pytest.mark.django_db
def test_a_sent_alert_and_appeal_stay_out_of_the_archive_and_a_bulletin_is_in(client):
    sent(kind="alert", subject=DEFENDER)
    sent(kind="appeal", subject="Give to the legal fund")
    sent(kind="bulletin", subject="Weekly bulletin: the court ruled")
    pages = archive_pages(client)
    assert "Weekly bulletin: the court ruled" in pages
    assert DEFENDER not in pages
    assert "Give to the legal fund" not in pages


@pytest.mark.django_db
def test_staff_can_choose_to_show_an_alert_and_hide_a_bulletin(client):
    sent(kind="alert", subject="Mining moratorium passed", public_archive=True)
    sent(kind="bulletin", subject="Internal planning bulletin", public_archive=False)
    pages = archive_pages(client)
    assert "Mining moratorium passed" in pages
    assert "Internal planning bulletin" not in pages


@pytest.mark.django_db
def test_unpublishing_after_sending_removes_it_from_the_pages_and_the_web_version_is_no_longer_indexed(client):
    user = personas.writer()
    verified(client, user)
    made = sent(kind="bulletin", subject=DEFENDER)
    web_version = f"/bulletins/{made.attribution_code}/"
    assert DEFENDER in archive_pages(client)
    assert "X-Robots-Tag" not in client.get(web_version)
    change = client.get(f"/admin/campaigns/campaign/{made.pk}/change/").content.decode()
    assert ">Remove from the public archive</button>" in change
    assert ">Show in the public archive</button>" not in change  # a writer may hide, not publish
    client.post(f"/admin/campaigns/campaign/{made.pk}/step/unpublish/")
    assert DEFENDER not in archive_pages(client)
    response = client.get(web_version)
    assert response.status_code == 200  # the readers' "view in browser" link keeps working
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert AuditLog.objects.filter(campaign=made, action="archive-hidden", actor=user).exists()
    assert client.post(f"/admin/campaigns/campaign/{made.pk}/step/publish/").status_code == 403


@pytest.mark.django_db
def test_a_sender_publishes_a_sent_alert_from_its_page(client):
    verified(client, sender())
    made = sent(kind="alert", subject="Moratorium passed")
    change = client.get(f"/admin/campaigns/campaign/{made.pk}/change/").content.decode()
    assert "Not shown in the public archive." in change
    client.post(f"/admin/campaigns/campaign/{made.pk}/step/publish/")
    assert "Moratorium passed" in archive_pages(client)


@pytest.mark.django_db
def test_the_admin_form_without_a_choice_follows_the_kind(client):
    verified(client, sender())
    mailing_list("peru")

    response = client.post(
        "/admin/campaigns/campaign/add/", form_data(kind="alert", subject=DEFENDER, public_archive="")
    )
    assert response.status_code == 302
    made = Campaign.objects.get(subject=DEFENDER)
    assert made.public_archive is None and made.in_public_archive is False
    response = client.post(
        f"/admin/campaigns/campaign/{made.pk}/change/",
        form_data(kind="alert", subject=DEFENDER, public_archive="True"),
    )
    made.refresh_from_db()
    assert made.public_archive is True


@pytest.mark.django_db
def test_the_api_takes_the_choice_on_create_and_shows_it(client):
    token = token_for(staff("ada", SENDER))
    mailing_list("peru")

    def create(**extra):  # type: ignore[no-untyped-def]
        body = {"subject": "S", "body_markdown": "B", "lists": ["peru"], **extra}
        return client.post("/api/v1/campaigns", json.dumps(body), content_type="application/json", **bearer(token))

    def shown(response) -> bool:  # type: ignore[no-untyped-def]
        detail = client.get(f"/api/v1/campaigns/{response.json()['id']}", **bearer(token))
        return detail.json()["public_archive"]

    assert shown(create(kind="bulletin")) is True
    assert shown(create(kind="alert")) is False
    assert shown(create(kind="alert", public_archive=True)) is True
    assert shown(create(kind="bulletin", public_archive=False)) is False
    refused = create(kind="alert", public_archive="yes")
    assert refused.status_code == 400
    assert "public_archive" in refused.json()["errors"]


_MIGRATION_SCRIPT = """
import django, json
django.setup()
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
before = [("campaigns", "0004_ledger_without_database_foreign_keys")]
executor = MigrationExecutor(connection)
executor.migrate(before)
old = executor.loader.project_state(before).apps.get_model("campaigns", "Campaign")
for kind in ("bulletin", "alert", "appeal"):
    old.objects.create(kind=kind, subject=kind, status="sent", attribution_code="code" + kind)
MigrationExecutor(connection).migrate([("campaigns", "0005_public_archive_per_campaign")])
from campaigns.models import Campaign
# Only the columns 0005 has: fields added by later migrations are not in this database yet.
campaigns = Campaign.objects.only("kind", "public_archive")
print(json.dumps({c.kind: [c.public_archive, c.in_public_archive] for c in campaigns}))
"""


def test_the_migration_takes_already_sent_alerts_and_appeals_out_of_the_archive(tmp_path):
    # The suite runs with --nomigrations: the real migrations run in a process of their own.
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'migrate.sqlite3'}",
        "TOCSIN_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", _MIGRATION_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    shown = json.loads(result.stdout.strip().splitlines()[-1])
    # Alerts and appeals explicitly out (not "as the kind decides"); bulletins as before.
    assert shown == {"bulletin": [None, True], "alert": [False, False], "appeal": [False, False]}
