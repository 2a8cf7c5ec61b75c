"""Broken merge tags never go out: the checklist blocks them, and so does every way of sending."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from campaigns import merge_fields, tasks
from campaigns.checklist import run_checklist
from campaigns.models import Campaign, CampaignTranslation
from campaigns.sending.rendering import render_preview
from campaigns.staff.roles import SENDER
from tests.support import personas
from tests.support.factories import campaign, mailing_list
from tests.support.personas import bearer, staff, token_for, verified

pytestmark = pytest.mark.django_db

BROKEN = ["{{ name }", "{ name }}", "{% if x %}", "*|FNAME|*", "{{ nmae }}", "{FNAME}", "{# note #}"]


def never_started(made: Campaign) -> bool:
    made.refresh_from_db()
    return made.status == Campaign.Status.DRAFT and not made.audit.filter(action__in=["sending", "scheduled"]).exists()


@pytest.fixture
def sender(client):  # type: ignore[no-untyped-def]
    user = personas.sender()
    verified(client, user)
    return user


def blocking(made: Campaign) -> list[str]:
    return [warning.message for warning in run_checklist(made) if warning.blocks]


@pytest.mark.parametrize("tag", BROKEN)
def test_a_broken_tag_in_the_subject_blocks_and_says_where(tag):
    made = campaign(lists=[mailing_list(people=1)], subject=f"Hello {tag}, news from Cajamarca")
    messages = blocking(made)
    assert len(messages) == 1
    assert f"Subject (English, main version): “{tag}”" in messages[0]


def test_a_tag_in_the_body_and_in_a_translation_preheader_are_each_located():
    made = campaign(lists=[mailing_list(people=1)], body_markdown="{% if donor %}Thank you{% endif %}")
    CampaignTranslation.objects.create(
        campaign=made, language="es", subject="Hola {{ name }}", preheader="Querida *|FNAME|*"
    )
    messages = " ".join(blocking(made))
    assert "Text (English, main version)" in messages and "{% if donor %}" in messages
    assert "Preheader (Spanish translation)" in messages and "*|FNAME|*" in messages
    assert "Subject (Spanish translation)" not in messages  # {{ name }} is a good field


def test_a_merge_field_in_the_button_text_is_shown_as_typed_and_blocks():
    made = campaign(lists=[mailing_list(people=1)], kind="alert", call_to_action_text="Act now, {{ name }}")
    assert any("Button text" in message for message in blocking(made))


def test_good_merge_fields_do_not_block():
    made = campaign(
        lists=[mailing_list(people=1)],
        subject='Hello {{ name|default:"friend" }}',
        body_markdown="Dear {{ first_name }}, the court ruled: 100% of it, { see: below }.",
    )
    assert blocking(made) == []


@pytest.mark.parametrize(
    "text",
    [
        *BROKEN,
        "{{ name }}",
        "{{ subscriber.first_name|default:'you' }}",
        "{{ name } and later {{ name }}",
        "{{{ name }}}",
        "Costs {{ 5 }} and { x: 1 }",
        "}} stray {{",
        "%} {% x",
    ],
)
def test_the_check_and_the_renderer_agree(text):
    """Whatever the check lets through, the renderer fills in completely: no template code reaches readers."""
    made = campaign(lists=[mailing_list(people=1)], subject=f"S {text}", body_markdown=f"B {text}")
    subject, _html, plain = render_preview(made)
    leftovers = [marker for marker in ("{{", "}}", "{%", "%}", "*|", "|*") if marker in subject + plain]
    if not merge_fields.problems(text):
        assert leftovers == []
        assert "{" not in subject
    else:
        assert blocking(made)


def test_the_change_page_does_not_say_all_checks_passed_and_hides_the_send_button(client, sender):
    made = campaign(author=sender, lists=[mailing_list(people=1)], subject="Hello {{ name }")
    page = client.get(f"/admin/campaigns/campaign/{made.pk}/change/").content.decode()
    assert "All checks passed" not in page
    assert "Blocks sending" in page
    assert "Subject (English, main version)" in page
    assert f"/admin/campaigns/campaign/{made.pk}/send/" not in page


def test_the_admin_send_page_refuses_with_the_reason(client, sender):
    made = campaign(author=sender, lists=[mailing_list(people=1)], body_markdown="Hi *|FNAME|*")
    response = client.post(f"/admin/campaigns/campaign/{made.pk}/send/", {"when": "now"})
    assert response.status_code == 200
    assert "*|FNAME|*" in response.content.decode()
    assert never_started(made)


def test_the_api_refuses_to_send_or_schedule_with_409_and_the_reason(client):
    made = campaign(lists=[mailing_list(people=1)], subject="Hello {{ name }")
    token = token_for(staff("ada", SENDER))
    for body in ({}, {"at": (timezone.now() + timedelta(days=1)).isoformat()}):
        response = client.post(
            f"/api/v1/campaigns/{made.pk}/send", json.dumps(body), content_type="application/json", **bearer(token)
        )
        assert response.status_code == 409
        assert "{{ name }" in response.json()["detail"]
    assert never_started(made)


def test_send_campaign_command_refuses_with_the_reason():
    made = campaign(lists=[mailing_list(people=1)], subject="Hello {% if x %}")
    with pytest.raises(CommandError, match="Subject"):
        call_command("send_campaign", str(made.pk))
    made.refresh_from_db()
    assert made.status == Campaign.Status.DRAFT


def test_a_scheduled_campaign_broken_after_scheduling_is_not_started_by_beat():
    made = campaign(lists=[mailing_list(people=1)], status=Campaign.Status.SCHEDULED)
    Campaign.objects.filter(pk=made.pk).update(
        scheduled_at=timezone.now() - timedelta(minutes=1), body_markdown="Hi {{ name }"
    )
    assert tasks.start_due() == []
    made.refresh_from_db()
    assert made.status == Campaign.Status.DRAFT
    assert "{{ name }" in made.status_reason


# --- A subject with a merge field, shown readably ---------------------------------


def test_admin_list_title_and_report_show_a_merge_field_readably(client, sender):
    made = campaign(author=sender, lists=[mailing_list(people=1)], subject='{{ name|default:"Friend" }}, act now')
    listing = client.get("/admin/campaigns/campaign/").content.decode()
    assert "[name], act now" in listing and "{{" not in listing
    change = client.get(f"/admin/campaigns/campaign/{made.pk}/change/").content.decode()
    assert "<title>" in change and "{{" not in change.split("</title>")[0]
    Campaign.objects.filter(pk=made.pk).update(status=Campaign.Status.SENT, started_at=timezone.now())
    report = client.get(f"/admin/campaigns/campaign/{made.pk}/report/").content.decode()
    assert "Report: [name], act now" in report
    dashboard = client.get("/admin/").content.decode()
    assert "[name], act now" in dashboard and "{{ name" not in dashboard


def test_the_public_archive_shows_the_subject_as_a_reader_without_a_name_would_see_it(client):
    made = campaign(subject="Hello {{ name }}: the mine is closed", status=Campaign.Status.SENT)
    CampaignTranslation.objects.create(campaign=made, language="es", subject="Hola {{ name }}: la mina cerró")
    Campaign.objects.filter(pk=made.pk).update(finished_at=timezone.now())
    english = client.get("/bulletins/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Hello friend: the mine is closed" in english
    spanish = client.get("/bulletins/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Hola amigo/a: la mina cerró" in spanish
