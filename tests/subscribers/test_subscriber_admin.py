"""The subscriber admin: history on show, nothing editable that is evidence, logged exports."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticDevice

from campaigns.models import AuditLog, Campaign, Delivery
from subscribers.models import Consent, MailingList, Subscriber, Suppression, email_hash
from tests.support.factories import active_slugs, make_list, make_subscriber

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:subscribers_subscriber_changelist"


def staff_client(user: User) -> Client:
    """A logged-in, two-factor-verified staff browser."""
    client = Client()
    client.force_login(user)
    device = StaticDevice.objects.create(user=user, name="backup")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def boss() -> User:
    return User.objects.create_superuser("boss", "boss@example.org", "a-long-password-1")


@pytest.fixture
def clerk() -> User:
    """Staff who may look at and change subscribers, but not export or erase them."""
    user = User.objects.create_user("clerk", "clerk@example.org", "a-long-password-2", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="subscribers",
            codename__in=["view_subscriber", "change_subscriber", "view_consent", "view_subscription"],
        )
    )
    return user


@pytest.fixture
def ana() -> Subscriber:
    return make_subscriber("ana@example.org", lists=[make_list("peru"), make_list("canada")], name="Ana Quispe")


def run_action(client: Client, action: str, people: list[Subscriber], **extra: str):  # type: ignore[no-untyped-def]
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(p.pk) for p in people], "index": "0", **extra}
    return client.post(reverse(CHANGELIST), data)


def test_list_admin_shows_confirmed_subscriber_counts(boss, ana):
    make_subscriber("ben@example.org", lists=[MailingList.objects.get(slug="peru")], status="unsubscribed")

    response = staff_client(boss).get(reverse("admin:subscribers_mailinglist_changelist"))

    assert response.status_code == 200
    peru = next(obj for obj in response.context["cl"].result_list if obj.slug == "peru")
    assert peru.active_count == 1


def test_search_and_filters_find_people(boss, ana):
    make_subscriber("ben@example.org", name="Benito", language="es")
    client = staff_client(boss)

    by_name = client.get(reverse(CHANGELIST), {"q": "quispe"})
    by_language = client.get(reverse(CHANGELIST), {"language": "es"})
    by_list = client.get(reverse(CHANGELIST), {"lists__id__exact": MailingList.objects.get(slug="peru").pk})

    assert [s.email for s in by_name.context["cl"].result_list] == ["ana@example.org"]
    assert [s.email for s in by_language.context["cl"].result_list] == ["ben@example.org"]
    assert [s.email for s in by_list.context["cl"].result_list] == ["ana@example.org"]


def test_change_page_shows_the_whole_consent_history_read_only(boss, ana):
    response = staff_client(boss).get(reverse("admin:subscribers_subscriber_change", args=[ana.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    for evidence in ["Yes, send me the bulletin.", "203.0.113.7", "Firefox", "https://example.org/signup/", "v1"]:
        assert evidence in body
    consent_formset = next(f for f in response.context["inline_admin_formsets"] if f.opts.model is Consent)
    assert not consent_formset.has_add_permission
    assert not consent_formset.has_change_permission
    assert not consent_formset.has_delete_permission


def test_staff_edit_is_recorded_in_the_history(boss, ana):
    client = staff_client(boss)
    url = reverse("admin:subscribers_subscriber_change", args=[ana.pk])
    page = client.get(url)
    data = {
        key: value
        for key, value in page.context["adminform"].form.initial.items()
        if key in {"name", "language", "tracking_allowed"}
    }
    data.update({"name": "Ana Q.", "language": "es", "paused_until": ""})
    for formset in page.context["inline_admin_formsets"]:
        prefix = formset.formset.prefix
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": str(formset.formset.total_form_count()),
                f"{prefix}-INITIAL_FORMS": str(formset.formset.initial_form_count()),
            }
        )

    response = client.post(url, data)

    assert response.status_code == 302
    ana.refresh_from_db()
    assert (ana.name, ana.language) == ("Ana Q.", "es")
    change = ana.consents.get(action=Consent.Action.CHANGE)
    assert change.source == Consent.Source.STAFF
    assert change.actor == boss
    assert "name" in change.detail


def test_people_cannot_be_added_or_deleted_by_hand(boss, ana):
    client = staff_client(boss)

    assert client.get(reverse("admin:subscribers_subscriber_add")).status_code == 403
    assert client.get(reverse("admin:subscribers_subscriber_delete", args=[ana.pk])).status_code == 403


def test_staff_unsubscribe_action_records_the_channel_and_who(boss, ana):
    response = run_action(staff_client(boss), "unsubscribe_staff", [ana])

    assert response.status_code == 302
    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.UNSUBSCRIBED
    consent = ana.consents.get(action=Consent.Action.UNSUBSCRIBE)
    assert (consent.channel, consent.actor) == (Consent.Channel.STAFF, boss)


def test_gdpr_export_downloads_json_and_is_logged(boss, ana):
    response = run_action(staff_client(boss), "export_personal_data", [ana])

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["profile"]["email"] == "ana@example.org"
    assert {s["list"] for s in data["subscriptions"]} == {"peru", "canada"}
    assert data["consents"][0]["ip_address"] == "203.0.113.7"
    assert AuditLog.objects.get(action="export_personal_data").actor == boss


def test_erase_asks_for_confirmation_first(boss, ana):
    response = run_action(staff_client(boss), "erase_selected", [ana])

    assert response.status_code == 200
    assert "cannot be undone" in response.content.decode()
    ana.refresh_from_db()
    assert ana.email == "ana@example.org"


def test_erase_after_confirmation_replaces_the_person_and_logs_without_the_address(boss, ana):
    client = staff_client(boss)
    response = client.post(
        reverse(CHANGELIST),
        {"action": "erase_selected", ACTION_CHECKBOX_NAME: [str(ana.pk)], "confirm": "yes"},
    )

    assert response.status_code == 302
    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.ERASED
    assert ana.email.endswith("@erased.invalid")
    log = AuditLog.objects.get(action="erase_subscriber")
    assert log.actor == boss
    assert "ana@" not in log.detail
    assert Suppression.objects.filter(email_hash=email_hash("ana@example.org")).exists()


def test_csv_export_is_permissioned_logged_and_formula_safe(boss, ana):
    make_subscriber("eve@example.org", name='=HYPERLINK("http://evil")')

    response = run_action(staff_client(boss), "export_csv", list(Subscriber.objects.all()))

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["email", "name", "language", "status"]
    by_email = {row[0]: row for row in rows[1:]}
    assert by_email["ana@example.org"][4] == "canada peru"
    assert by_email["eve@example.org"][1].startswith("'=")
    log = AuditLog.objects.get(action="export_subscribers")
    assert (log.actor, log.detail) == (boss, "2 subscribers (CSV)")


def test_staff_without_the_export_permission_cannot_export_or_erase(clerk, ana):
    client = staff_client(clerk)

    page = client.get(reverse(CHANGELIST))
    choices = [name for name, _ in page.context["action_form"].fields["action"].choices]
    response = run_action(client, "export_csv", [ana])

    assert "unsubscribe_staff" in choices
    assert "export_csv" not in choices
    assert "export_personal_data" not in choices
    assert "erase_selected" not in choices
    assert response.status_code != 200 or "text/csv" not in response.get("Content-Type", "")
    assert not AuditLog.objects.filter(action="export_subscribers").exists()


def test_export_permission_exists_for_roles():
    assert Permission.objects.filter(content_type__app_label="subscribers", codename="export_subscribers").exists()


def test_campaigns_received_are_listed_on_the_change_page(boss, ana):
    Delivery.objects.create(
        campaign=Campaign.objects.create(subject="Bulletin 12: mining in Cajamarca"),
        subscriber=ana,
        status=Delivery.Status.SENT,
    )

    response = staff_client(boss).get(reverse("admin:subscribers_subscriber_change", args=[ana.pk]))

    assert "Bulletin 12: mining in Cajamarca" in response.content.decode()


def test_admin_import_page_imports_a_csv(boss):
    client = staff_client(boss)
    upload = SimpleUploadedFile("fair.csv", b"email,name,consent_source\nana@example.org,Ana,Book fair\n")

    response = client.post(reverse("admin:subscribers_subscriber_import"), {"file": upload, "new_list": "honduras"})

    assert response.status_code == 200
    assert "1 new subscribers" in response.content.decode()
    ana = Subscriber.objects.get(email="ana@example.org")
    assert active_slugs(ana) == {"honduras"}
    assert ana.consents.get().detail == "fair.csv: Book fair"
    assert ana.consents.get().actor == boss
    assert AuditLog.objects.filter(action="import_subscribers").exists()


def test_admin_import_page_reports_bad_rows_and_writes_nothing(boss):
    client = staff_client(boss)
    upload = SimpleUploadedFile("bad.csv", b"email,name\nana@example.org,=cmd|' /C calc'!A0\n")

    response = client.post(reverse("admin:subscribers_subscriber_import"), {"file": upload, "new_list": "honduras"})

    body = response.content.decode()
    assert response.status_code == 200
    assert "line 2: name" in body
    assert "Nothing was imported" in body
    assert not Subscriber.objects.exists()


def test_changelist_links_the_import_page(boss):
    body = staff_client(boss).get(reverse(CHANGELIST)).content.decode()
    assert reverse("admin:subscribers_subscriber_import") in body


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "Win money at evil.example/claim", "without HTML, links or web addresses"),
        ("name", "Ana\u202eanA", "invisible or text-direction"),
        ("paused_until", "9999-12-31", "Must be a date between 1900-01-01 and 2099-12-31."),
    ],
)
def test_staff_edits_obey_the_sign_up_rules(boss, ana, field, value, message):
    client = staff_client(boss)
    url = reverse("admin:subscribers_subscriber_change", args=[ana.pk])
    page = client.get(url)
    data = {"name": "Ana Q.", "language": "en", "tracking_allowed": "on", "paused_until": "", field: value}
    for formset in page.context["inline_admin_formsets"]:
        prefix = formset.formset.prefix
        data[f"{prefix}-TOTAL_FORMS"] = str(formset.formset.total_form_count())
        data[f"{prefix}-INITIAL_FORMS"] = str(formset.formset.initial_form_count())

    response = client.post(url, data)

    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors[field])
    ana.refresh_from_db()
    assert (ana.name, ana.paused_until) == ("Ana Quispe", None)
