"""The campaign screens in the admin, as a staff member uses them."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import timezone

from campaigns.models import AuditLog, Campaign, CampaignTranslation
from campaigns.staff.roles import SENDER, WRITER
from tests.campaigns.staff_helpers import campaign, mailing_list, staff, verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def sender(client):  # type: ignore[no-untyped-def]
    user = staff("sam", SENDER)
    verified(client, user)
    return user


def started(made: Campaign) -> list[tuple[str, str]]:
    """(status, its detail) of each send or schedule the lifecycle recorded for ``made``."""
    entries = AuditLog.objects.filter(campaign=made, action__in=["sending", "scheduled"]).order_by("id")
    return list(entries.values_list("action", "detail"))


def change_url(made: Campaign) -> str:
    return f"/admin/campaigns/campaign/{made.pk}/change/"


def form_data(**fields):  # type: ignore[no-untyped-def]
    data = {
        "kind": "bulletin",
        "language": "en",
        "subject": "Weekly bulletin",
        "preheader": "",
        "intro_markdown": "",
        "body_markdown": 'Hello {{ name|default:"friend" }}.',
        "call_to_action_text": "",
        "call_to_action_url": "",
        "from_name": "",
        "from_email": "",
        "reply_to": "",
        "tracking_enabled": "on",
        "campaignarticle_set-TOTAL_FORMS": "0",
        "campaignarticle_set-INITIAL_FORMS": "0",
        "translations-TOTAL_FORMS": "0",
        "translations-INITIAL_FORMS": "0",
        # The audience by action, an inline the actions app adds to this form.
        "acted_audience-TOTAL_FORMS": "0",
        "acted_audience-INITIAL_FORMS": "0",
    }
    data.update(fields)
    return data


def test_the_list_shows_status_kind_and_schedule(client, sender):
    made = campaign(author=sender, lists=[mailing_list()], status=Campaign.Status.SCHEDULED)
    Campaign.objects.filter(pk=made.pk).update(scheduled_at=datetime(2030, 5, 1, 14, 0, tzinfo=ZoneInfo("UTC")))
    page = client.get("/admin/campaigns/campaign/").content.decode()
    assert made.subject in page
    assert "Scheduled" in page
    assert "2030-05-01 09:00" in page  # shown in the organisation's time zone (Lima, UTC-5)


def test_a_writer_creates_a_campaign_with_a_translation_and_it_is_logged(client):
    writer = staff("wendy", WRITER)
    client.force_login(writer)  # writers cannot send, so they need no second factor
    news = mailing_list("news")
    data = form_data(
        lists=[str(news.pk)],
        languages=["en", "es"],
        **{
            "translations-TOTAL_FORMS": "1",
            "translations-0-language": "es",
            "translations-0-subject": "Boletín semanal",
            "translations-0-body_markdown": "Hola.",
        },
    )
    response = client.post("/admin/campaigns/campaign/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    made = Campaign.objects.get()
    assert made.created_by == writer
    assert made.languages == ["en", "es"]
    assert CampaignTranslation.objects.get(campaign=made).subject == "Boletín semanal"
    assert AuditLog.objects.filter(campaign=made, action="created", actor=writer).exists()


def test_a_subject_with_a_line_break_is_refused(client, sender):
    news = mailing_list("news")
    response = client.post(
        "/admin/campaigns/campaign/add/", form_data(subject="Hi\r\nBcc: all@example.net", lists=[str(news.pk)])
    )
    assert response.status_code == 200
    assert not Campaign.objects.exists()


def test_an_edit_is_logged_with_the_fields_that_changed(client, sender):
    news = mailing_list("news")
    made = campaign(author=sender, lists=[news], subject="Weekly bulletin", body_markdown="Old")
    response = client.post(change_url(made), form_data(lists=[str(news.pk)], body_markdown="New text"))
    assert response.status_code == 302
    entry = AuditLog.objects.get(campaign=made, action="edited")
    assert entry.actor == sender
    assert "body_markdown" in entry.detail


def test_the_change_page_shows_the_recipient_count_and_the_checklist(client, sender):
    made = campaign(author=sender, lists=[mailing_list("news", people=4)])
    page = client.get(change_url(made)).content.decode()
    assert 'class="tocsin-big">4<' in page
    assert "Before you send" in page


def test_the_change_page_warns_when_the_audience_is_empty(client, sender):
    made = campaign(author=sender, lists=[mailing_list("news", people=0)])
    page = client.get(change_url(made)).content.decode()
    assert 'data-code="empty-audience"' in page


def test_the_preview_shows_desktop_and_phone_frames_and_the_text_part(client, sender):
    made = campaign(author=sender, lists=[mailing_list()], body_markdown='Hello {{ name|default:"friend" }}.')
    response = client.get(f"/admin/campaigns/campaign/{made.pk}/preview/")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("<iframe") == 2
    assert "width:375px" in page
    assert "width:640px" in page
    assert "srcdoc=" in page
    assert "Hello Alex Sample." in page  # the text part, for the sample reader


def test_the_preview_offers_each_language_version(client, sender):
    made = campaign(author=sender, lists=[mailing_list()])
    CampaignTranslation.objects.create(
        campaign=made, language="es", subject="Concesión suspendida", body_markdown="Hoy."
    )
    page = client.get(f"/admin/campaigns/campaign/{made.pk}/preview/?lang=es").content.decode()
    assert "Concesión suspendida" in page


def test_send_test_to_me_mails_a_marked_copy_and_logs_it(client, sender):
    made = campaign(author=sender, lists=[mailing_list()])
    response = client.post(f"/admin/campaigns/campaign/{made.pk}/test/", {"to_me": "1"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["sam@staff.example.org"]
    assert message.subject.startswith("[TEST] ")
    assert message.alternatives  # the real HTML part, from the renderer
    assert AuditLog.objects.filter(campaign=made, action="test-sent", actor=sender).exists()


def test_a_test_goes_to_a_list_of_staff_addresses(client, sender):
    staff("rita", WRITER)
    made = campaign(author=sender, lists=[mailing_list()])
    client.post(
        f"/admin/campaigns/campaign/{made.pk}/test/",
        {"addresses": "rita@staff.example.org, sam@staff.example.org"},
    )
    assert sorted(message.to[0] for message in mail.outbox) == ["rita@staff.example.org", "sam@staff.example.org"]


def test_a_test_to_an_outside_address_is_refused(client, sender):
    made = campaign(author=sender, lists=[mailing_list()])
    response = client.post(
        f"/admin/campaigns/campaign/{made.pk}/test/", {"addresses": "someone@else.example"}, follow=True
    )
    assert mail.outbox == []
    assert "staff addresses only" in response.content.decode()


def test_send_now_from_the_admin_starts_sending(client, sender):
    made = campaign(author=sender, lists=[mailing_list(people=1)])
    page = client.get(f"/admin/campaigns/campaign/{made.pk}/send/").content.decode()
    assert "Confirm" in page
    response = client.post(f"/admin/campaigns/campaign/{made.pk}/send/", {"when": "now"})
    assert response.status_code == 302
    assert started(made) == [("sending", "")]
    made.refresh_from_db()
    assert (made.status, made.scheduled_at) == (Campaign.Status.SENDING, None)


def test_scheduling_reads_the_time_in_the_organisation_time_zone(client, sender, settings):
    made = campaign(author=sender, lists=[mailing_list(people=1)])
    local = (timezone.localtime(timezone.now(), ZoneInfo(settings.TIME_ZONE)) + timedelta(days=1)).replace(
        second=0, microsecond=0
    )
    client.post(
        f"/admin/campaigns/campaign/{made.pk}/send/",
        {"when": "later", "at": local.strftime("%Y-%m-%dT%H:%M")},
    )
    made.refresh_from_db()
    assert (made.status, made.scheduled_at) == (Campaign.Status.SCHEDULED, local)


def test_scheduling_in_the_past_is_refused_on_the_page(client, sender):
    made = campaign(author=sender, lists=[mailing_list(people=1)])
    response = client.post(f"/admin/campaigns/campaign/{made.pk}/send/", {"when": "later", "at": "2001-01-01T09:00"})
    assert response.status_code == 200
    assert "in the past" in response.content.decode()
    assert started(made) == []


def test_a_writer_cannot_open_the_send_page(client):
    writer = staff("wendy", WRITER)
    client.force_login(writer)
    made = campaign(author=writer, lists=[mailing_list()])
    assert client.get(f"/admin/campaigns/campaign/{made.pk}/send/").status_code == 403
    assert client.post(f"/admin/campaigns/campaign/{made.pk}/step/cancel/").status_code == 403


def test_pause_from_the_admin_pauses_the_send(client, sender):
    made = campaign(author=sender, lists=[mailing_list()], status=Campaign.Status.SENDING)
    response = client.post(f"/admin/campaigns/campaign/{made.pk}/step/pause/")
    assert response.status_code == 302
    made.refresh_from_db()
    assert made.status == Campaign.Status.PAUSED
    assert AuditLog.objects.filter(campaign=made, action="paused", actor=sender).exists()


def test_progress_is_served_as_json_for_the_live_bar(client, sender):
    made = campaign(author=sender, lists=[mailing_list(people=2)])
    data = client.get(f"/admin/campaigns/campaign/{made.pk}/progress.json").json()
    assert data["status"] == "draft"
    assert data["counts"]["recipients"] == 2


def test_a_sending_campaign_cannot_be_edited(client, sender):
    news = mailing_list("news")
    made = campaign(author=sender, lists=[news], status=Campaign.Status.SENDING)
    client.post(change_url(made), form_data(lists=[str(news.pk)], subject="Changed mid-send"))
    made.refresh_from_db()
    assert made.subject == "Mining concession suspended"
    assert 'id="tocsin-progress"' in client.get(change_url(made)).content.decode()


def test_the_audit_log_cannot_be_edited_or_deleted(client):
    admin_user = staff("ada", None)
    admin_user.is_superuser = True
    admin_user.save()
    verified(client, admin_user)
    made = campaign(lists=[mailing_list()])
    entry = AuditLog.objects.create(action="sent", campaign=made)
    assert client.get("/admin/campaigns/auditlog/").status_code == 200
    assert client.post(f"/admin/campaigns/auditlog/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_send_now_with_the_real_engine_starts_sending_and_shows_live_progress(client, sender):
    made = campaign(author=sender, lists=[mailing_list(people=2)])
    response = client.post(f"/admin/campaigns/campaign/{made.pk}/send/", {"when": "now"}, follow=True)
    assert "Sending has started" in response.content.decode()
    made.refresh_from_db()
    assert made.status == Campaign.Status.SENDING
    page = client.get(change_url(made)).content.decode()
    assert "progress.json" in page
    assert 'data-live="1"' in page and "tocsin/admin-campaign.js" in page  # the bar polls while sending
    assert AuditLog.objects.filter(campaign=made, action="sending", actor=sender).exists()


# --- The form follows the kind ------------------------------------------------------------


def _fieldset_classes(page: str, legend: str) -> str:
    """The class attribute of the fieldset whose heading is ``legend``."""
    before = page.split(legend, 1)[0]
    return before.rsplit("<fieldset", 1)[1].split('class="', 1)[1].split('"', 1)[0]


def test_each_kind_specific_part_of_the_form_says_which_kinds_it_is_for(client, sender):
    page = client.get("/admin/campaigns/campaign/add/").content.decode()
    assert "tocsin-for-appeal" in _fieldset_classes(page, "Donors (appeals)")
    assert "tocsin-for-bulletin" not in _fieldset_classes(page, "Donors (appeals)")
    button = _fieldset_classes(page, "Button (alerts and appeals)")
    assert "tocsin-for-alert" in button and "tocsin-for-appeal" in button
    assert "tocsin-for-bulletin" in _fieldset_classes(page, "Articles in this bulletin (in order)")
    assert "tocsin/admin-campaign-kind.js" in page
    # The donor rule no longer sits among the audience fields of every kind.
    audience = page.split(">Audience</")[1].split("</fieldset>")[0]
    assert "donor_rule" not in audience


def test_a_sent_alert_shows_only_its_own_fields(client, sender):
    made = campaign(author=sender, lists=[mailing_list()], kind="alert", status=Campaign.Status.SENT)
    page = client.get(change_url(made)).content.decode()
    assert "Button (alerts and appeals)" in page
    assert "Donors (appeals)" not in page
    assert "Articles in this bulletin" not in page


def test_fields_of_another_kind_are_reset_not_refused_when_the_kind_changes(client, sender):
    made = campaign(author=sender, lists=[mailing_list()], kind="appeal", donor_rule="lapsed", exclude_donors_days=90)
    response = client.post(
        change_url(made),
        form_data(kind="bulletin", donor_rule="lapsed", exclude_donors_days="90", call_to_action_text="Act {{ name }}"),
    )
    assert response.status_code == 302
    made.refresh_from_db()
    assert (made.kind, made.donor_rule, made.exclude_donors_days, made.call_to_action_text) == (
        "bulletin",
        "all",
        None,
        "",
    )


def test_the_campaign_page_shows_its_attribution_code(client, sender):
    made = campaign(author=sender, lists=[mailing_list()], kind="appeal")
    page = client.get(change_url(made)).content.decode()
    assert f"Attribution code: <code>{made.attribution_code}</code>" in page


# --- Dates out of range, and rows that already hold one (issue 10) ---------------------------


def test_an_audience_date_in_year_9999_is_a_form_error(client, sender):
    news = mailing_list("news")
    data = form_data(
        lists=[str(news.pk)], signed_up_before_0="9999-12-31", signed_up_before_1="23:00:00", signed_up_after_0=""
    )
    response = client.post("/admin/campaigns/campaign/add/", data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["signed_up_before"] == ["Must be a date between 1900-01-01 and 2099-12-31."]
    assert not Campaign.objects.exists()


def test_a_send_time_in_year_9999_is_refused_on_the_send_page(client, sender):
    made = campaign(author=sender, lists=[mailing_list(people=1)])
    response = client.post(f"/admin/campaigns/campaign/{made.pk}/send/", {"when": "later", "at": "9999-12-31T23:00"})
    assert response.status_code == 200
    assert "Must be a date between 1900-01-01 and 2099-12-31." in response.content.decode()
    assert started(made) == []


@pytest.mark.postgres
def test_a_row_holding_year_10000_does_not_break_the_admin(client, sender):
    from django.db import connection

    made = campaign(author=sender, lists=[mailing_list(people=1)], status=Campaign.Status.SCHEDULED)
    with connection.cursor() as cursor:
        # As the API stored it before the range rule: Python's datetime cannot hold year 10000.
        cursor.execute(
            "UPDATE campaigns_campaign SET signed_up_before = '10000-01-01 10:00:00+00', "
            "scheduled_at = '10000-01-01 10:00:00+00' WHERE id = %s",
            [made.pk],
        )

    listing = client.get("/admin/campaigns/campaign/")
    assert listing.status_code == 200
    assert made.subject in listing.content.decode()
    page = client.get(change_url(made))
    assert page.status_code == 200
    assert "9999-12-2" in page.content.decode()  # clamped (shown in Lima time), for staff to correct


@pytest.mark.parametrize("field", ["from_email", "reply_to"])
def test_a_sender_address_on_an_ip_literal_is_a_form_error(client, sender, field):
    news = mailing_list("news")
    response = client.post("/admin/campaigns/campaign/add/", form_data(lists=[str(news.pk)], **{field: "x@[10.0.0.1]"}))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [
        "An email address needs a domain name, not an IP address."
    ]
    assert not Campaign.objects.exists()
