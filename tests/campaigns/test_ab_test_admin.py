"""The A/B test and the frequency cap in the campaign admin: the form, the panel, the send page, the report."""

from __future__ import annotations

import pytest

from campaigns.models import ABTest, Campaign, Delivery
from campaigns.staff.roles import SENDER
from tests.support.factories import campaign, mailing_list
from tests.support.forms import change_url, form_data
from tests.support.personas import staff, verified
from tests.support.sending import mail_earlier

pytestmark = pytest.mark.django_db


@pytest.fixture
def sender(client):  # type: ignore[no-untyped-def]
    user = staff("sam", SENDER)
    verified(client, user)
    return user


def ab_fields(**fields):  # type: ignore[no-untyped-def]
    return {
        "ab_enabled": "on",
        "ab_subject_2": "Stop the dam",
        "ab_subject_3": "",
        "ab_subject_4": "",
        "ab_sample_percent": "25",
        "ab_wait_minutes": "120",
        "ab_metric": "clicks",
        **fields,
    }


def test_staff_set_up_a_test_of_subjects_in_the_form(client, sender):
    news = mailing_list(people=2)
    response = client.post(
        "/admin/campaigns/campaign/add/", form_data(subject="The river is ours", lists=[str(news.pk)], **ab_fields())
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    made = Campaign.objects.get()
    test = ABTest.objects.get(campaign=made)
    assert (test.subjects, test.sample_percent, test.wait_minutes, test.metric) == (
        ["The river is ours", "Stop the dam"],
        25,
        120,
        "clicks",
    )
    page = client.get(change_url(made)).content.decode()
    assert "A/B test of subjects" in page and "Stop the dam" in page
    assert 'name="ab_subject_2" value="Stop the dam"' in page


def test_changing_subject_a_changes_the_test_and_unticking_removes_it(client, sender):
    news = mailing_list(people=2)
    made = campaign(author=sender, lists=[news], subject="Old")
    ABTest.objects.create(campaign=made, subjects=["Old", "Other"])
    response = client.post(
        change_url(made), form_data(subject="New", lists=[str(news.pk)], **ab_fields(ab_subject_2="Other"))
    )
    assert response.status_code == 302
    assert ABTest.objects.get(campaign=made).subjects == ["New", "Other"]
    client.post(change_url(made), form_data(subject="New", lists=[str(news.pk)]))
    assert not ABTest.objects.filter(campaign=made).exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ab_subject_2": ""}, "Test two to four subjects."),
        ({"ab_subject_2": "the river is ours"}, "Each test subject must differ from the others."),
        ({"ab_sample_percent": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"ab_sample_percent": "100"}, "Ensure this value is less than or equal to 99."),
        ({"ab_wait_minutes": "-5"}, "Ensure this value is greater than or equal to 0."),
        ({"ab_metric": "revenue"}, "Select a valid choice."),
    ],
)
def test_a_bad_test_is_a_form_error_and_nothing_is_saved(client, sender, fields, message):
    news = mailing_list(people=2)
    response = client.post(
        "/admin/campaigns/campaign/add/",
        form_data(subject="The river is ours", lists=[str(news.pk)], **ab_fields(**fields)),
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Campaign.objects.exists() and not ABTest.objects.exists()


def test_the_panel_and_the_send_page_say_how_many_the_cap_holds_back(client, sender, settings):
    settings.TOCSIN_FREQUENCY_CAP = (2, 7 * 24)
    news = mailing_list(people=3)
    someone = news.subscriptions.first().subscriber
    for _ in range(2):
        mail_earlier([someone], days_ago=0)
    draft = campaign(author=sender, lists=[news])
    page = client.get(change_url(draft)).content.decode()
    assert "1 person held back by the frequency cap (at most 2 emails in 7 days)." in page
    assert 'data-code="frequency-cap"' in page
    send_page = client.get(f"/admin/campaigns/campaign/{draft.pk}/send/").content.decode()
    assert "1 person held back by the frequency cap" in send_page


def test_the_report_shows_each_variant_and_warns_about_opens(client, sender):
    news = mailing_list(people=2)
    made = campaign(author=sender, lists=[news], status=Campaign.Status.SENT, subject="A")
    ABTest.objects.create(campaign=made, subjects=["A", "B"], metric="opens", winner=2)
    people = list(news.subscriptions.values_list("subscriber_id", flat=True))
    for variant, person in enumerate(people, start=1):
        Delivery.objects.create(campaign=made, subscriber_id=person, status="sent", variant=variant)
    page = client.get(f"/admin/campaigns/campaign/{made.pk}/report/").content.decode()
    assert "A/B test of subjects" in page
    assert "Winner: “B”" in page
    assert "Apple Mail Privacy Protection" in page
