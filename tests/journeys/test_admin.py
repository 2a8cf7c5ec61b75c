"""The journey admin: the list, the steps with people at each, a safe removal, pause, every email's preview."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns import lifecycle
from campaigns.models import AuditLog, Campaign, CampaignTranslation
from journeys import engine
from journeys.models import Enrolment, Journey, Step
from journeys.services import setup
from journeys.services.entering import enrol
from tests.support.factories.subscribers import make_list, make_people
from tests.support.journeys import email, steps_of, wait, welcome_journey
from tests.support.personas import staff, verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    user = staff("organiser", None)
    user.is_superuser = True
    user.save()
    return verified(client, user)


def inline_data(journey: Journey, rows: list[dict], *, journey_fields: dict | None = None) -> dict:
    data = {
        "name": journey.name,
        "status": journey.status,
        "trigger": journey.trigger,
        "trigger_list": journey.trigger_list_id or "",
        "trigger_action": "",
        "inactive_days": "",
        **(journey_fields or {}),
        "steps-TOTAL_FORMS": str(len(rows)),
        "steps-INITIAL_FORMS": str(sum(1 for row in rows if row.get("id"))),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"steps-{index}-{key}"] = value
        data[f"steps-{index}-journey"] = journey.pk
    return data


def row(step: Step, **changes) -> dict:
    values = {
        "id": step.pk,
        "position": step.position,
        "kind": step.kind,
        "email_subject": step.campaign.subject if step.campaign else "",
        "wait_amount": step.wait_amount or "",
        "wait_unit": step.wait_unit,
        "wait_weekday": "" if step.wait_weekday is None else step.wait_weekday,
        "wait_time": "",
        "condition": step.condition,
        "branch_to": step.branch_to_id or "",
        "mailing_list": step.mailing_list_id or "",
    }
    values.update(changes)
    return values


def test_the_list_and_the_page_show_the_steps_and_the_people_at_each(admin):
    peru = make_list()
    journey = welcome_journey(peru, name="Welcome to Peru")
    for person in make_people(3, peru):
        enrol(journeys=[journey], subscriber_id=person.pk)
    engine.run_batch()

    listing = admin.get(reverse("admin:journeys_journey_changelist")).content.decode()
    assert "Welcome to Peru" in listing
    page = admin.get(reverse("admin:journeys_journey_change", args=[journey.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    overview = page.context["adminform"].form.instance
    assert overview == journey
    # The glance table: each step in a sentence and the people due to run it (all three wait for "Second").
    assert "<td>Email: Welcome</td><td>0</td>" in html
    assert "<td>Wait 3 days</td><td>0</td>" in html
    assert "<td>Email: Second</td><td>3</td>" in html
    assert "people at a removed step move on to the next one" in html
    first = steps_of(journey)[0]
    assert reverse("admin:journeys_journeyemail_preview", args=[first.campaign_id]) in html


def test_every_email_has_a_preview_in_each_language(admin):
    peru = make_list()
    journey = welcome_journey(peru, email("Welcome {{ first_name }}", "Glad you are here."))
    campaign = steps_of(journey)[0].campaign
    CampaignTranslation.objects.create(
        campaign=campaign, language="es", subject="Bienvenida", body_markdown="Qué bueno que estés aquí."
    )
    url = reverse("admin:journeys_journeyemail_preview", args=[campaign.pk])
    english = admin.get(url).content.decode()
    assert "Glad you are here." in english
    spanish = admin.get(url + "?lang=es").content.decode()
    assert "Bienvenida" in spanish


def test_an_emails_preview_leads_back_to_its_step_of_the_journey(admin):
    peru = make_list()
    journey = welcome_journey(peru, email("Welcome"), wait(3), email("Second"), name="Welcome to Peru")
    second = steps_of(journey)[2]
    journey_url = reverse("admin:journeys_journey_change", args=[journey.pk])

    page = admin.get(reverse("admin:journeys_journeyemail_preview", args=[second.campaign_id])).content.decode()

    assert f'<a class="tocsin-button" href="{journey_url}#step-{second.pk}">Back to the journey</a>' in page
    assert "Back to the campaign" not in page
    # The trail above names the journey, not the hidden campaign's list of emails.
    breadcrumbs = page.split('<div class="breadcrumbs">')[1].split("</div>")[0]
    assert f'<a href="{journey_url}">Welcome to Peru</a>' in breadcrumbs
    # The step the button leads to is where the journey's page shows it.
    assert f'<tr id="step-{second.pk}">' in admin.get(journey_url).content.decode()


def test_an_emails_report_leads_back_to_its_step_of_the_journey(admin):
    peru = make_list()
    journey = welcome_journey(peru, email("Welcome"), wait(3), email("Second"), name="Welcome to Peru")
    second = steps_of(journey)[2]
    journey_url = reverse("admin:journeys_journey_change", args=[journey.pk])
    report_url = reverse("campaign_report", args=[second.campaign_id])
    assert f'<a href="{report_url}">Report</a>' in admin.get(journey_url).content.decode()

    page = admin.get(report_url).content.decode()

    breadcrumbs = " ".join(page.split('<div class="breadcrumbs">')[1].split("</div>")[0].split())
    assert breadcrumbs == (
        '<a href="/admin/">Home</a>'
        f' &rsaquo; <a href="{reverse("admin:journeys_journey_changelist")}">Journeys</a>'
        f' &rsaquo; <a href="{journey_url}">Welcome to Peru</a>'
        f' &rsaquo; <a href="{journey_url}#step-{second.pk}">Email: Second</a>'
        " &rsaquo; Report"
    )
    # Hidden from the campaigns' list, the email's report does not send staff looking for it there.
    assert reverse("admin:app_list", kwargs={"app_label": "campaigns"}) not in breadcrumbs


def test_a_campaigns_preview_still_leads_back_to_the_campaign(admin):
    campaign = Campaign.objects.create(kind=Campaign.Kind.BULLETIN, subject="This week")
    change_url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])

    page = admin.get(reverse("admin:campaigns_campaign_preview", args=[campaign.pk])).content.decode()

    assert f'<a class="tocsin-button" href="{change_url}">Back to the campaign</a>' in page


def test_removing_a_step_with_people_moves_them_on_and_says_so(admin):
    peru = make_list()
    journey = welcome_journey(peru, email("First"), wait(1), email("Second"), email("Third"))
    for person in make_people(2, peru):
        enrol(journeys=[journey], subscriber_id=person.pk)
    engine.run_batch()
    first, pause, second, third = steps_of(journey)
    rows = [row(first), row(pause), row(second, DELETE="on"), row(third)]
    response = admin.post(reverse("admin:journeys_journey_change", args=[journey.pk]), inline_data(journey, rows))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert not Step.objects.filter(pk=second.pk).exists()
    assert set(Enrolment.objects.values_list("step", flat=True)) == {third.pk}
    shown = admin.get(response.url).content.decode()
    assert "2 people at removed steps moved on to the next step." in shown


def test_adding_an_email_step_makes_its_hidden_campaign(admin):
    peru = make_list()
    journey = welcome_journey(peru, email("First"))
    (first,) = steps_of(journey)
    new = {"position": 20, "kind": "email", "email_subject": "A new one", "wait_unit": "", "condition": ""}
    rows = [row(first), new]
    response = admin.post(reverse("admin:journeys_journey_change", args=[journey.pk]), inline_data(journey, rows))
    assert response.status_code == 302, response.content.decode()[:3000]
    added = steps_of(journey)[1]
    assert added.campaign.subject == "A new one"
    assert added.campaign.automated and added.campaign.status == Campaign.Status.SENDING
    assert list(added.campaign.lists.all()) == [peru]
    listed = admin.get(reverse("admin:campaigns_campaign_changelist")).content.decode()
    assert "A new one" not in listed, "journey emails are not listed with the campaigns"


def test_a_condition_must_go_to_a_later_step(admin):
    peru = make_list()
    journey = welcome_journey(peru, email("First"), email("Second"))
    first, second = steps_of(journey)
    bad = {"position": 30, "kind": "condition", "condition": "clicked", "branch_to": first.pk, "wait_unit": ""}
    response = admin.post(
        reverse("admin:journeys_journey_change", args=[journey.pk]),
        inline_data(journey, [row(first), row(second), bad]),
    )
    assert response.status_code == 200
    assert "A condition goes to a later step." in response.content.decode()
    assert Step.objects.filter(journey=journey).count() == 2


def test_pause_and_resume_from_the_list(admin):
    peru = make_list()
    journey = welcome_journey(peru)
    url = reverse("admin:journeys_journey_changelist")
    admin.post(url, {"action": "pause", "_selected_action": [journey.pk]})
    journey.refresh_from_db()
    assert journey.status == Journey.Status.PAUSED
    admin.post(url, {"action": "resume", "_selected_action": [journey.pk]})
    journey.refresh_from_db()
    assert journey.status == Journey.Status.ACTIVE
    logged = AuditLog.objects.filter(action__startswith="journey-").order_by("id")
    assert [entry.action for entry in logged] == ["journey-paused", "journey-resumed"]
    assert all(entry.actor is not None and entry.actor.is_staff for entry in logged)


def test_deleting_a_journey_closes_its_emails(admin):
    peru = make_list()
    journey = welcome_journey(peru, email("Only"))
    campaign = steps_of(journey)[0].campaign
    response = admin.post(reverse("admin:journeys_journey_delete", args=[journey.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Journey.objects.exists()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELLED


def test_resuming_from_the_journeys_form_is_the_same_resume_audited_with_its_emails(admin):
    peru = make_list()
    journey = welcome_journey(peru)
    for person in make_people(2, peru):
        enrol(journeys=[journey], subscriber_id=person.pk)
    engine.run_batch()  # two emails of the first step waiting
    setup.set_status(journey=journey, active=False)
    first = steps_of(journey)[0].campaign
    lifecycle.pause(campaign=first, actor=None, reason="Held")
    journey.refresh_from_db()
    rows = [row(step) for step in steps_of(journey)]
    response = admin.post(
        reverse("admin:journeys_journey_change", args=[journey.pk]),
        inline_data(journey, rows, journey_fields={"status": Journey.Status.ACTIVE}),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    journey.refresh_from_db()
    first.refresh_from_db()
    assert journey.status == Journey.Status.ACTIVE
    assert first.status == Campaign.Status.SENDING
    assert AuditLog.objects.filter(action="journey-resumed", detail__contains=journey.name).exists()
