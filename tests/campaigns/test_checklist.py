"""The pre-send checklist: the warnings a careful colleague would give."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from campaigns.checklist import link_is_broken, run_checklist
from campaigns.models import Article, Campaign, CampaignArticle, CampaignTranslation
from tests.support.factories import campaign, mailing_list
from tests.support.personas import sender

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogs")]


def codes(made: Campaign) -> set[str]:
    return {warning.code for warning in run_checklist(made)}


def test_a_complete_campaign_passes_every_check():
    made = campaign(lists=[mailing_list(people=2)], body_markdown="A court suspended the concession.")
    assert run_checklist(made) == []


def test_an_empty_audience_is_flagged():
    assert "empty-audience" in codes(campaign(lists=[mailing_list(people=0)]))


def test_no_list_at_all_is_flagged():
    assert "no-lists" in codes(campaign())


def test_an_empty_subject_is_flagged():
    made = campaign(lists=[mailing_list(people=1)], subject="")
    assert "no-subject" in codes(made)


def test_an_empty_translation_subject_is_flagged():
    made = campaign(lists=[mailing_list(people=1)])
    CampaignTranslation.objects.create(campaign=made, language="es", subject=" ", body_markdown="Hoy.")
    messages = [warning.message for warning in run_checklist(made) if warning.code == "no-subject"]
    assert messages and "Spanish" in messages[0]


def test_an_image_without_alt_text_is_flagged():
    made = campaign(lists=[mailing_list(people=1)], body_markdown="![](https://img.example.org/march.jpg)")
    warnings = [warning for warning in run_checklist(made) if warning.code == "image-alt"]
    assert warnings
    assert "march.jpg" in warnings[0].message


def test_an_image_with_alt_text_is_fine():
    made = campaign(
        lists=[mailing_list(people=1)],
        body_markdown="![Protesters outside the ministry](https://img.example.org/m.jpg)",
    )
    assert "image-alt" not in codes(made)


def test_a_link_to_a_missing_page_of_our_site_is_flagged(settings):
    made = campaign(
        lists=[mailing_list(people=1)],
        body_markdown=f"Read [the ruling]({settings.SITE_URL}/articles/no-such-article/) and [home](/).",
    )
    warnings = [warning for warning in run_checklist(made) if warning.code == "broken-link"]
    assert len(warnings) == 1
    assert "no-such-article" in warnings[0].message


def test_a_link_to_an_unpublished_article_is_flagged_and_a_published_one_is_not(settings):
    Article.objects.create(title="Draft", slug="draft-piece", status=Article.Status.DRAFT)
    Article.objects.create(
        title="Live", slug="live-piece", status=Article.Status.PUBLISHED, published_at=timezone.now()
    )
    made = campaign(
        lists=[mailing_list(people=1)],
        body_markdown=f"[a]({settings.SITE_URL}/articles/draft-piece/) [b]({settings.SITE_URL}/articles/live-piece/)",
    )
    broken = [warning.message for warning in run_checklist(made) if warning.code == "broken-link"]
    assert len(broken) == 1
    assert "draft-piece" in broken[0]


def test_links_to_other_sites_are_not_checked():
    made = campaign(lists=[mailing_list(people=1)], body_markdown="[elsewhere](https://news.example.com/nothing-here)")
    assert "broken-link" not in codes(made)


def test_a_path_nothing_resolves_is_broken():
    assert link_is_broken("/this/does/not/exist/")
    assert not link_is_broken("/")


def test_a_message_over_102_kb_is_flagged():
    paragraph = "Mining concessions, water and the defenders who protect them. " * 40
    made = campaign(lists=[mailing_list(people=1)], body_markdown="\n\n".join([paragraph] * 50))
    assert "size" in codes(made)


def test_a_bulletin_article_lead_image_without_alt_is_flagged():
    article = Article.objects.create(
        title="Water protest",
        slug="water-protest",
        summary="Hundreds marched.",
        lead_image_url="https://img.example.org/water.jpg",
        status=Article.Status.PUBLISHED,
        published_at=timezone.now(),
    )
    made = campaign(lists=[mailing_list(people=1)])
    CampaignArticle.objects.create(campaign=made, article=article, position=1)
    assert "image-alt" in codes(made)


def test_an_appeal_without_a_donate_link_is_flagged():
    made = campaign(lists=[mailing_list(people=1)], kind=Campaign.Kind.APPEAL)
    assert "no-donate-link" in codes(made)


def test_a_language_without_a_translation_is_pointed_out():
    made = campaign(lists=[mailing_list(people=1)], languages=["en", "fr"])
    assert "no-translation" in codes(made)


def _readers(mailing, language: str, count: int) -> None:
    from subscribers.models import Subscriber, Subscription

    for number in range(count):
        person = Subscriber.objects.create(
            email=f"{language}{number}@example.net", status=Subscriber.Status.CONFIRMED, language=language
        )
        Subscription.objects.create(subscriber=person, mailing_list=mailing)


def test_readers_without_a_translation_are_counted_by_language():
    mailing = mailing_list(people=3)
    _readers(mailing, "es", 2)
    _readers(mailing, "fr", 1)
    made = campaign(lists=[mailing])
    CampaignTranslation.objects.create(campaign=made, language="fr", subject="Concession minière suspendue")
    messages = [warning.message for warning in run_checklist(made) if warning.code == "no-translation"]
    assert messages == [
        "2 readers of Spanish will get the English version: there is no Spanish translation. "
        "Add one, or send only to languages that have a version."
    ]


def test_staff_restrict_the_send_to_languages_with_a_version(client):
    from tests.support.personas import verified

    user = sender()
    verified(client, user)
    mailing = mailing_list(people=3)
    _readers(mailing, "es", 2)
    _readers(mailing, "fr", 1)
    made = campaign(author=user, lists=[mailing])
    CampaignTranslation.objects.create(campaign=made, language="fr", subject="Concession minière suspendue")
    page = client.get(f"/admin/campaigns/campaign/{made.pk}/change/").content.decode()
    assert "2 readers of Spanish: English version (no translation)" in page
    assert "3 readers of English: English version" in page
    assert "Send only to readers of English and French" in page
    client.post(f"/admin/campaigns/campaign/{made.pk}/step/languages/")
    made.refresh_from_db()
    assert made.languages == ["en", "fr"]
    page = client.get(f"/admin/campaigns/campaign/{made.pk}/change/").content.decode()
    assert "readers of Spanish" not in page
    assert "Send only to readers" not in page
    assert '<div class="tocsin-big">4</div>' in page


def test_the_checklist_warns_when_a_list_turns_tracking_off_for_everyone():
    mailing = mailing_list(people=2)
    defenders = mailing_list("defenders", people=1)
    defenders.tracking_enabled = False
    defenders.save()
    made = campaign(lists=[mailing, defenders])
    messages = [warning.message for warning in run_checklist(made) if warning.code == "untracked"]
    assert messages == [
        "Opens and clicks will not be counted for any of the 3 readers: “Defenders” has tracking off, "
        "and one list without tracking turns it off for the whole campaign."
    ]


def test_a_french_staff_member_reads_the_untracked_list_in_french_with_guillemets():
    mailing = mailing_list(people=1)
    defenders = mailing_list("defenders", people=1)
    defenders.tracking_enabled = False
    defenders.translations = {"fr": {"name": "Défenseurs"}}
    defenders.save()
    made = campaign(lists=[mailing, defenders])

    with translation.override("fr"):
        [message] = [warning.message for warning in run_checklist(made) if warning.code == "untracked"]

    assert "«\u00a0Défenseurs\u00a0»" in message
    assert "Defenders" not in message


def test_the_checklist_counts_readers_who_said_no_to_tracking():
    from subscribers.models import Subscriber, Subscription

    mailing = mailing_list()
    people = Subscriber.objects.bulk_create(
        Subscriber(
            email=f"reader{i}@example.net",
            email_hash=f"{i:064x}",
            status=Subscriber.Status.CONFIRMED,
            language="en",
            tracking_allowed=i >= 312,
        )
        for i in range(1040)
    )
    Subscription.objects.bulk_create(Subscription(subscriber=person, mailing_list=mailing) for person in people)
    made = campaign(lists=[mailing])
    messages = [warning.message for warning in run_checklist(made) if warning.code == "untracked"]
    assert messages == [
        "312 of 1,040 readers are not tracked (their own privacy choice): "
        "opens and clicks will be counted for the other 728 only."
    ]
    made.tracking_enabled = False
    made.save()
    assert [w for w in run_checklist(made) if w.code == "untracked"] == []
