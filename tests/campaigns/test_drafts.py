"""Creating and changing a campaign: one set of rules (campaigns.services.drafts) for the admin and the API."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import lifecycle
from campaigns.models import AuditLog, Campaign
from campaigns.services import drafts
from tests.support import personas
from tests.support.factories import campaign, mailing_list
from tests.support.forms import form_data
from tests.support.personas import bearer, token_for

pytestmark = pytest.mark.django_db


def test_the_admin_and_the_api_refuse_a_reversed_sign_up_window_in_the_same_words(client):
    writer = personas.writer()
    news = mailing_list("news")
    client.force_login(writer)
    page = client.post(
        "/admin/campaigns/campaign/add/",
        form_data(
            lists=[str(news.pk)],
            signed_up_after_0="2026-05-01",
            signed_up_after_1="00:00:00",
            signed_up_before_0="2026-01-01",
            signed_up_before_1="00:00:00",
        ),
    )
    body = {
        "kind": "bulletin",
        "subject": "Weekly",
        "body_markdown": "Text",
        "lists": ["news"],
        "signed_up_after": "2026-05-01T00:00:00Z",
        "signed_up_before": "2026-01-01T00:00:00Z",
    }
    api = client.post(
        "/api/v1/campaigns", json.dumps(body), content_type="application/json", **bearer(token_for(writer))
    )

    admin_errors = page.context["adminform"].form.errors["signed_up_before"]
    assert api.status_code == 400
    assert api.json()["errors"]["signed_up_before"] == admin_errors == ["Must be later than 'signed up after'."]
    assert not Campaign.objects.exists()


def test_a_bulletin_cannot_choose_among_donors_whoever_writes_it():
    made = Campaign(kind=Campaign.Kind.BULLETIN, subject="Weekly", donor_rule="lapsed", exclude_donors_days=30)
    with pytest.raises(drafts.InvalidCampaign) as refused:
        drafts.create_campaign(actor=None, campaign=made, lists=[])
    assert set(refused.value.errors) == {"donor_rule", "exclude_donors_days"}
    assert not Campaign.objects.exists()


def test_a_campaign_that_started_sending_is_not_changed_and_not_logged():
    made = campaign(lists=[mailing_list()], status=Campaign.Status.SENDING)
    made.subject = "Changed mid-send"
    with pytest.raises(drafts.lifecycle.Refused):
        drafts.change_campaign(actor=None, campaign=made, changed=["subject"])
    made.refresh_from_db()
    assert made.subject != "Changed mid-send"
    assert not AuditLog.objects.filter(campaign=made, action="edited").exists()


def test_an_edit_open_while_the_campaign_was_scheduled_keeps_its_status_and_time(settings):
    settings.TOCSIN_REQUIRE_APPROVAL = False  # a scheduled campaign stays scheduled when edited
    made = campaign(lists=[mailing_list()])
    page = Campaign.objects.get(pk=made.pk)  # the form, opened before staff scheduled it in another tab
    at = timezone.now() + timedelta(days=1)
    lifecycle.start(campaign=made, actor=None, at=at)
    page.subject = "New subject"
    drafts.change_campaign(actor=None, campaign=page, changed=["subject"])
    made.refresh_from_db()
    assert (made.status, made.scheduled_at, made.subject) == (Campaign.Status.SCHEDULED, at, "New subject")
