"""TOCSIN_REQUIRE_APPROVAL: a second person approves before anything goes out."""

from __future__ import annotations

import pytest

from campaigns import approval, operations
from campaigns.models import AuditLog, Campaign
from campaigns.staff.roles import SENDER, WRITER
from tests.campaigns.staff_helpers import campaign, mailing_list, staff, verified
from tests.campaigns.test_api import FakeEngine

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def approval_on(settings):  # type: ignore[no-untyped-def]
    settings.TOCSIN_REQUIRE_APPROVAL = True


@pytest.fixture
def engine(monkeypatch):  # type: ignore[no-untyped-def]
    fake = FakeEngine()
    monkeypatch.setattr(operations, "_engine_function", fake.lookup)
    return fake


def test_a_draft_cannot_be_sent_while_approval_is_required(engine):
    made = campaign(author=staff("wendy", WRITER), lists=[mailing_list()])
    with pytest.raises(approval.NeedsApproval, match="approv"):
        operations.start(made, actor=staff("sam", SENDER))
    assert engine.calls == []


def test_without_the_setting_a_draft_sends_directly(settings, engine):
    settings.TOCSIN_REQUIRE_APPROVAL = False
    made = campaign(author=staff("sam", SENDER), lists=[mailing_list()])
    operations.start(made, actor=made.created_by)
    assert engine.calls[0][0] == "start"


def test_the_author_cannot_approve_their_own_campaign():
    author = staff("sam", SENDER)
    made = campaign(author=author, lists=[mailing_list()])
    approval.submit_for_review(made, actor=author)
    with pytest.raises(approval.ApproverIsAuthor):
        approval.approve(made, actor=author)
    made.refresh_from_db()
    assert made.status == Campaign.Status.REVIEW


def test_someone_who_edited_it_cannot_approve_it_either():
    editor = staff("sam", SENDER)
    made = campaign(author=staff("wendy", WRITER), lists=[mailing_list()])
    AuditLog.objects.create(actor=editor, action="edited", campaign=made)
    approval.submit_for_review(made, actor=made.created_by)
    with pytest.raises(approval.ApproverIsAuthor):
        approval.approve(made, actor=editor)


def test_a_writer_cannot_approve():
    made = campaign(author=staff("wendy", WRITER), lists=[mailing_list()], status=Campaign.Status.REVIEW)
    with pytest.raises(approval.ApprovalError):
        approval.approve(made, actor=staff("walt", WRITER))


def test_approved_by_another_person_it_can_be_sent_and_the_steps_are_logged(engine):
    writer, sender = staff("wendy", WRITER), staff("sam", SENDER)
    made = campaign(author=writer, lists=[mailing_list()])
    approval.submit_for_review(made, actor=writer)
    approval.approve(made, actor=sender)
    made.refresh_from_db()
    assert (made.status, made.approved_by) == (Campaign.Status.APPROVED, sender)
    operations.start(made, actor=sender)
    assert engine.calls[0][0] == "start"
    steps = list(AuditLog.objects.filter(campaign=made).order_by("created_at", "id").values_list("action", "actor"))
    assert steps == [("review", writer.pk), ("approved", sender.pk)]


def test_the_admin_walks_a_campaign_from_draft_to_approved(client):
    writer, sender = staff("wendy", WRITER), staff("sam", SENDER)
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
    sender = staff("sam", SENDER)
    made = campaign(author=sender, lists=[mailing_list()], status=Campaign.Status.REVIEW)
    verified(client, sender)
    response = client.post(f"/admin/campaigns/campaign/{made.pk}/step/approve/", follow=True)
    assert "someone else must approve" in response.content.decode()
    made.refresh_from_db()
    assert made.status == Campaign.Status.REVIEW


def test_the_send_page_explains_why_it_cannot_send_yet(client, engine):
    sender = staff("sam", SENDER)
    made = campaign(author=sender, lists=[mailing_list()])
    verified(client, sender)
    page = client.get(f"/admin/campaigns/campaign/{made.pk}/send/").content.decode()
    assert "Approval is required" in page
    client.post(f"/admin/campaigns/campaign/{made.pk}/send/", {"when": "now"})
    assert engine.calls == []


def test_editing_an_approved_campaign_sends_it_back_to_draft(client):
    writer, sender = staff("wendy", WRITER), staff("sam", SENDER)
    news = mailing_list("news")
    made = campaign(author=writer, lists=[news])
    approval.submit_for_review(made, actor=writer)
    approval.approve(made, actor=sender)
    client.force_login(writer)
    from tests.campaigns.test_campaign_admin import form_data

    client.post(f"/admin/campaigns/campaign/{made.pk}/change/", form_data(lists=[str(news.pk)], subject="Changed"))
    made.refresh_from_db()
    assert made.status == Campaign.Status.DRAFT
    assert made.approved_by is None
    assert approval.send_blocked_reason(made)
