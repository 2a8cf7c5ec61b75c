"""TOCSIN_REQUIRE_APPROVAL: a second person approves before anything goes out."""

from __future__ import annotations

import pytest

from campaigns import lifecycle
from campaigns.models import AuditLog, Campaign
from campaigns.staff.roles import WRITER
from tests.support import personas
from tests.support.factories import campaign, mailing_list
from tests.support.forms import form_data
from tests.support.personas import staff, verified

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def approval_on(settings):  # type: ignore[no-untyped-def]
    settings.TOCSIN_REQUIRE_APPROVAL = True


def sending(made: Campaign) -> bool:
    made.refresh_from_db()
    return made.status == Campaign.Status.SENDING and AuditLog.objects.filter(campaign=made, action="sending").exists()


def test_a_draft_cannot_be_sent_while_approval_is_required():
    made = campaign(author=personas.writer(), lists=[mailing_list()])
    with pytest.raises(lifecycle.NeedsApproval, match="approv"):
        lifecycle.start(campaign=made, actor=personas.sender())
    assert not sending(made) and made.status == Campaign.Status.DRAFT


def test_without_the_setting_a_draft_sends_directly(settings):
    settings.TOCSIN_REQUIRE_APPROVAL = False
    made = campaign(author=personas.sender(), lists=[mailing_list()])
    lifecycle.start(campaign=made, actor=made.created_by)
    assert sending(made)


def test_the_author_cannot_approve_their_own_campaign():
    author = personas.sender()
    made = campaign(author=author, lists=[mailing_list()])
    lifecycle.submit_for_review(campaign=made, actor=author)
    with pytest.raises(lifecycle.ApproverIsAuthor):
        lifecycle.approve(campaign=made, actor=author)
    made.refresh_from_db()
    assert made.status == Campaign.Status.REVIEW


def test_someone_who_edited_it_cannot_approve_it_either():
    editor = personas.sender()
    made = campaign(author=personas.writer(), lists=[mailing_list()])
    AuditLog.objects.create(actor=editor, action="edited", campaign=made)
    lifecycle.submit_for_review(campaign=made, actor=made.created_by)
    with pytest.raises(lifecycle.ApproverIsAuthor):
        lifecycle.approve(campaign=made, actor=editor)


def test_a_writer_cannot_approve():
    made = campaign(author=personas.writer(), lists=[mailing_list()], status=Campaign.Status.REVIEW)
    with pytest.raises(lifecycle.ApprovalError):
        lifecycle.approve(campaign=made, actor=staff("walt", WRITER))


def test_approved_by_another_person_it_can_be_sent_and_the_steps_are_logged():
    writer, sender = personas.writer(), personas.sender()
    made = campaign(author=writer, lists=[mailing_list()])
    lifecycle.submit_for_review(campaign=made, actor=writer)
    lifecycle.approve(campaign=made, actor=sender)
    made.refresh_from_db()
    assert (made.status, made.approved_by) == (Campaign.Status.APPROVED, sender)
    lifecycle.start(campaign=made, actor=sender)
    assert sending(made)
    steps = list(AuditLog.objects.filter(campaign=made).order_by("created_at", "id").values_list("action", "actor"))
    assert steps == [("review", writer.pk), ("approved", sender.pk), ("sending", sender.pk)]


def test_the_admin_walks_a_campaign_from_draft_to_approved(client):
    writer, sender = personas.writer(), personas.sender()
    made = campaign(author=writer, lists=[mailing_list()])
    client.force_login(writer)
    page = client.get(f"/admin/campaigns/campaign/{made.pk}/change/").content.decode()
    assert "Submit for review" in page
    client.post(f"/admin/campaigns/campaign/{made.pk}/step/submit/")
    client.logout()
    verified(client, sender)
    client.post(f"/admin/campaigns/campaign/{made.pk}/step/approve/")
    made.refresh_from_db()
    assert made.status == Campaign.Status.APPROVED


def test_the_admin_refuses_self_approval_with_a_message(client):
    sender = personas.sender()
    made = campaign(author=sender, lists=[mailing_list()], status=Campaign.Status.REVIEW)
    verified(client, sender)
    response = client.post(f"/admin/campaigns/campaign/{made.pk}/step/approve/", follow=True)
    assert "someone else must approve" in response.content.decode()
    made.refresh_from_db()
    assert made.status == Campaign.Status.REVIEW


def test_the_send_page_explains_why_it_cannot_send_yet(client):
    sender = personas.sender()
    made = campaign(author=sender, lists=[mailing_list()])
    verified(client, sender)
    page = client.get(f"/admin/campaigns/campaign/{made.pk}/send/").content.decode()
    assert "Approval is required" in page
    client.post(f"/admin/campaigns/campaign/{made.pk}/send/", {"when": "now"})
    assert not sending(made) and made.status == Campaign.Status.DRAFT


def test_editing_an_approved_campaign_sends_it_back_to_draft(client):
    writer, sender = personas.writer(), personas.sender()
    news = mailing_list("news")
    made = campaign(author=writer, lists=[news])
    lifecycle.submit_for_review(campaign=made, actor=writer)
    lifecycle.approve(campaign=made, actor=sender)
    client.force_login(writer)

    client.post(f"/admin/campaigns/campaign/{made.pk}/change/", form_data(lists=[str(news.pk)], subject="Changed"))
    made.refresh_from_db()
    assert made.status == Campaign.Status.DRAFT
    assert made.approved_by is None
    assert lifecycle.approval_missing(made)
