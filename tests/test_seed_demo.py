from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from campaigns.models import Article
from subscribers.models import Consent, MailingList, Subscriber, Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    settings.VAR_DIR = tmp_path
    monkeypatch.delenv("TOCSIN_DEMO_PASSWORD", raising=False)


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "lists": MailingList.objects.count(),
        "articles": Article.objects.count(),
        "subscribers": Subscriber.objects.count(),
        "subscriptions": Subscription.objects.count(),
        "consents": Consent.objects.count(),
        "users": get_user_model().objects.count(),
    }


def test_seeding_twice_adds_nothing_the_second_time():
    seed()
    first = counts()
    output = seed()
    assert counts() == first
    assert "0 new article(s), 0 new supporter(s)" in output


def test_it_creates_the_demo_lists_as_public_topics():
    seed()
    slugs = set(MailingList.objects.filter(public=True).values_list("slug", flat=True))
    assert {"peru", "guatemala", "honduras", "canada-policy"} <= slugs


def test_the_demo_login_is_staff_and_its_printed_password_works(tmp_path):
    output = seed()
    user = get_user_model().objects.get(username="demo")
    password = (tmp_path / "demo-password.txt").read_text().strip()
    assert user.is_staff
    assert user.check_password(password)
    assert f"demo / {password}" in output


def test_a_second_run_keeps_the_password_staff_may_have_changed():
    seed()
    user = get_user_model().objects.get(username="demo")
    user.set_password("changed by staff 123")
    user.save()
    seed()
    user.refresh_from_db()
    assert user.check_password("changed by staff 123")


def test_the_demo_password_can_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("TOCSIN_DEMO_PASSWORD", "a chosen demo password")
    seed()
    assert get_user_model().objects.get(username="demo").check_password("a chosen demo password")


def test_demo_articles_are_published_with_html_and_a_spanish_translation():
    seed()
    published = Article.objects.filter(status=Article.Status.PUBLISHED)
    assert published.count() >= 4
    assert all(article.published_at for article in published)
    spanish = published.filter(language="es").exclude(translation_of=None)
    assert spanish.exists()
    assert spanish.first().translation_of.language == "en"
    # Every article is tagged with at least one of the demo topics.
    assert not published.filter(topics=None).exists()


def test_demo_supporters_are_confirmed_with_their_consent_evidence():
    seed()
    supporters = Subscriber.objects.all()
    assert supporters.count() >= 4
    for subscriber in supporters:
        assert subscriber.status == Subscriber.Status.CONFIRMED
        assert subscriber.subscriptions.filter(status=Subscription.Status.ACTIVE).exists()
        actions = list(subscriber.consents.values_list("action", flat=True))
        assert actions == [Consent.Action.SIGNUP, Consent.Action.CONFIRM]
        confirm = subscriber.consents.get(action=Consent.Action.CONFIRM)
        assert confirm.wording and confirm.basis == Consent.Basis.EXPRESS and confirm.lists


def test_demo_actions_are_fictional_open_and_signable_by_postal_code(client):
    from actions.models import Action, District, Target

    seed()
    seed()  # idempotent
    assert set(Action.objects.values_list("slug", "status")) == {
        ("demo-mining-accountability-letter", "open"),
        ("demo-free-the-water-defenders", "open"),
    }
    # Clearly invented: demo names, example.org addresses, district codes no real riding uses.
    assert all(target.email.endswith("example.org") for target in Target.objects.all())
    assert all(district.code.startswith("99") for district in District.objects.all())
    assert client.get("/act/demo-free-the-water-defenders/").status_code == 200
    response = client.post(
        "/act/demo-mining-accountability-letter/",
        {"name": "Test Person", "email": "test@example.net", "postal_code": "M5V 2T6"},
    )
    assert response.status_code == 303
    letter_targets = {letter.target.name for letter in Action.objects.get(kind="letter").letters.all()}
    assert "Harjit Sandhu" in letter_targets  # the demo MP for M5V


def test_demo_members_of_parliament_are_titled_in_their_own_language():
    from actions.models import Target

    seed()

    titles = {target.name: target.title for target in Target.objects.filter(groups__slug="mps")}
    assert titles["Sophie Gagnon-Reyes"] == titles["Élise Charbonneau"] == "Députée (démo)"
    assert titles["Harjit Sandhu"] == "Member of Parliament (demo)"
    # Still plainly invented, in every language.
    assert all(title.endswith(("(demo)", "(démo)")) for title in Target.objects.values_list("title", flat=True))


def test_seeding_again_retitles_the_earlier_demos_french_members_but_not_a_title_staff_wrote():
    from actions.models import Target

    seed()
    Target.objects.filter(name="Sophie Gagnon-Reyes").update(title="Member of Parliament (demo)")  # an earlier demo's
    Target.objects.filter(name="Élise Charbonneau").update(title="Députée de Plateau-Fleuve (démo)")  # staff's own

    seed()

    titles = dict(Target.objects.values_list("name", "title"))
    assert titles["Sophie Gagnon-Reyes"] == "Députée (démo)"
    assert titles["Élise Charbonneau"] == "Députée de Plateau-Fleuve (démo)"


def test_the_demo_groups_have_spanish_and_french_names_marked_as_demo():
    from actions.models import TargetGroup

    seed()

    mps, ministers = TargetGroup.objects.get(slug="mps"), TargetGroup.objects.get(slug="ministers")
    assert (mps.name_in("es"), mps.name_in("fr")) == ("Diputados (demo)", "Députés (démo)")
    assert (ministers.name_in("es"), ministers.name_in("fr")) == ("Ministros (demo)", "Ministres (démo)")


def test_seeding_again_names_the_earlier_demos_groups_in_every_language_but_keeps_what_staff_wrote():
    from actions.models import TargetGroup

    seed()
    TargetGroup.objects.filter(slug="ministers").update(translations={})  # an earlier demo's
    TargetGroup.objects.filter(slug="mps").update(translations={"fr": {"name": "Députés fédéraux"}})  # staff's own

    seed()

    assert TargetGroup.objects.get(slug="ministers").name_in("fr") == "Ministres (démo)"
    assert TargetGroup.objects.get(slug="mps").translations == {"fr": {"name": "Députés fédéraux"}}


def test_the_demos_french_keeps_french_typography():
    """A non-breaking space before : ; ? ! (a phone never starts a line with ':'), and ’ for the apostrophe."""
    import re

    from actions.models import ActionTranslation

    seed()

    for translation in ActionTranslation.objects.filter(language="fr"):
        for text in (translation.title, translation.body_markdown, translation.letter_subject, translation.letter_body):
            assert not re.search(r" [:;?!]", text), text
            assert not re.search(r"\w'\w", text), text


def test_the_demo_alert_links_to_the_letter_and_gives_each_reader_a_personal_link(client, settings):
    from actions.models import ActionTranslation
    from campaigns.models import Campaign
    from campaigns.sending.rendering import CampaignRenderer

    seed()
    seed()  # idempotent: one alert, one translation per language
    [alert] = Campaign.objects.filter(kind=Campaign.Kind.ALERT, body_markdown__contains="/act/")
    assert "/act/demo-mining-accountability-letter/" in alert.body_markdown
    assert alert.status == Campaign.Status.DRAFT and set(alert.lists.values_list("slug", flat=True)) == {
        "urgent-actions"
    }
    assert set(alert.translations.values_list("language", flat=True)) == {"es", "fr"}
    assert ActionTranslation.objects.filter(action__slug="demo-mining-accountability-letter").count() == 2

    reader = Subscription.objects.filter(mailing_list__slug="urgent-actions").first().subscriber
    message = CampaignRenderer(alert).render(subscriber=reader)
    html = str(message.alternatives[0][0])
    assert f"{settings.SITE_URL}/act/demo-mining-accountability-letter/you/" in html
    personal = html[html.index(settings.SITE_URL + "/act/") :].split('"')[0]
    response = client.get(personal.replace(settings.SITE_URL, ""))
    assert response.status_code == 200 and (reader.name or "") in response.content.decode()
