"""The preference centre: reached from every email, no password, every change on record."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from subscribers.models import Consent, Subscriber, Suppression, email_hash
from subscribers.services import leaving, preferences, privacy
from subscribers.tokens import make_preferences_token, make_unsubscribe_token, preferences_url
from tests.support.factories import active_slugs, make_list, make_subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def lists():  # type: ignore[no-untyped-def]
    return {
        "peru": make_list("peru"),
        "guatemala": make_list("guatemala"),
        "canada": make_list("canada"),
        "donors": make_list("donors", public=False),
    }


@pytest.fixture
def ana(lists) -> Subscriber:  # type: ignore[no-untyped-def]
    return make_subscriber(lists=[lists["peru"], lists["donors"]])


def url_for(subscriber: Subscriber) -> str:
    return reverse("subscribers:preferences", args=[make_preferences_token(subscriber)])


def form_data(all_lists, **overrides):  # type: ignore[no-untyped-def]
    data = {"lists": [all_lists["peru"].pk], "language": "en", "name": "Ana", "pause": "none"}
    data.update(overrides)
    return data


def changes(subscriber: Subscriber) -> list[Consent]:
    return list(subscriber.consents.filter(action=Consent.Action.CHANGE))


def test_page_shows_public_topics_with_current_choices_and_no_private_lists(ana, lists):
    response = Client().get(url_for(ana))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Peru" in body and "Guatemala" in body and "Canada" in body
    assert "Donors" not in body
    assert response.context["form"].initial["lists"] == [lists["peru"].pk]
    assert "ana@example.org" in body


def test_get_changes_nothing(ana):
    Client().get(url_for(ana))
    Client().head(url_for(ana))

    assert not changes(ana)


def test_changing_topics_is_recorded_and_keeps_private_lists(ana, lists):
    client = Client()
    response = client.post(url_for(ana), form_data(lists, lists=[lists["guatemala"].pk, lists["canada"].pk]))

    assert response.status_code == 302
    assert response["Location"].endswith("?saved=1")
    assert active_slugs(ana) == {"guatemala", "canada", "donors"}
    [change] = changes(ana)
    assert change.lists == ["canada", "guatemala"]
    assert change.source == Consent.Source.PREFERENCES
    assert change.channel == Consent.Channel.PREFERENCES
    assert change.basis == Consent.Basis.EXPRESS
    assert change.wording
    assert "Your preferences are saved" in client.get(response["Location"]).content.decode()


def test_language_and_name_change(ana, lists):
    Client().post(url_for(ana), form_data(lists, language="es", name="Ana María"))

    ana.refresh_from_db()
    assert (ana.language, ana.name) == ("es", "Ana María")
    assert "language en→es" in changes(ana)[0].detail


def test_page_speaks_the_subscribers_language(ana, lists):
    ana.language = "es"
    ana.save()

    response = Client().get(url_for(ana))

    assert response.context["LANGUAGE_CODE"] == "es"


def test_privacy_mode_turns_tracking_off(ana, lists):
    Client().post(url_for(ana), form_data(lists, no_tracking="on"))

    ana.refresh_from_db()
    assert ana.tracking_allowed is False
    assert "tracking off" in changes(ana)[0].detail


@pytest.mark.parametrize(("choice", "until"), [("1", dt.date(2026, 4, 30)), ("3", dt.date(2026, 6, 30))])
def test_pause_for_one_or_three_months(ana, lists, time_machine, choice, until):
    time_machine.move_to(dt.datetime(2026, 3, 30, 12, tzinfo=dt.UTC))

    Client().post(url_for(ana), form_data(lists, pause=choice))

    ana.refresh_from_db()
    assert ana.paused_until == until
    assert ana.status == Subscriber.Status.CONFIRMED


def test_a_pause_can_be_kept_or_ended(ana, lists):
    ana.paused_until = dt.date.today() + dt.timedelta(days=20)
    ana.save()
    page = Client().get(url_for(ana))
    assert page.context["form"].initial["pause"] == "keep"

    Client().post(url_for(ana), form_data(lists, pause="keep"))
    ana.refresh_from_db()
    assert ana.paused_until is not None

    Client().post(url_for(ana), form_data(lists, pause="none"))
    ana.refresh_from_db()
    assert ana.paused_until is None


def test_leave_everything_from_the_preference_centre(ana, lists):
    response = Client().post(url_for(ana), {"action": "leave"})

    assert response.status_code == 200
    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.UNSUBSCRIBED
    assert active_slugs(ana) == set()
    assert ana.consents.get(action=Consent.Action.UNSUBSCRIBE).channel == Consent.Channel.PREFERENCES


def test_the_form_is_csrf_protected(ana, lists):
    client = Client(enforce_csrf_checks=True)

    assert client.post(url_for(ana), form_data(lists)).status_code == 403
    assert client.post(url_for(ana), {"action": "leave"}).status_code == 403

    page = client.get(url_for(ana))
    token = page.cookies["csrftoken"].value
    response = client.post(url_for(ana), {**form_data(lists), "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_someone_who_unsubscribed_can_come_back(ana, lists):
    leaving.unsubscribe(subscriber=ana, channel=Consent.Channel.ONE_CLICK)
    assert "unsubscribed from everything" in Client().get(url_for(ana)).content.decode()

    Client().post(url_for(ana), form_data(lists))

    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.CONFIRMED
    assert active_slugs(ana) == {"peru"}
    assert not Suppression.objects.filter(email_hash=email_hash(ana.email)).exists()
    assert "resubscribed" in changes(ana)[0].detail


@pytest.mark.parametrize("reason", ["bounced", "complained"])
def test_a_bounced_or_complained_address_cannot_add_lists_here(ana, lists, reason):
    leaving.suppress(email=ana.email, reason=reason)
    page = Client().get(url_for(ana))
    assert "sign up again" in page.content.decode()

    Client().post(url_for(ana), form_data(lists, lists=[lists["peru"].pk, lists["canada"].pk]))

    ana.refresh_from_db()
    assert ana.status == reason
    assert "canada" not in active_slugs(ana)
    assert Suppression.objects.filter(email_hash=email_hash(ana.email)).exists()


def test_service_refuses_to_resubscribe_a_complained_address(ana, lists):
    leaving.suppress(email=ana.email, reason="complained")

    with pytest.raises(leaving.ResubscribeRefused):
        preferences.update_preferences(
            subscriber=ana,
            lists=[lists["canada"]],
            language="en",
            name="Ana",
            tracking_allowed=True,
            paused_until=None,
        )
    assert "canada" not in active_slugs(ana)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Ana\r\nBcc: victim@example.org"),
        ("name", "<b>Ana</b>"),
        ("name", "A" * 101),
        ("name", "Win money at evil.example/claim"),
        ("name", "Ana\u202eanA"),
        ("name", "An\u200ba"),
        ("language", "de"),
        ("pause", "12"),
        ("lists", "999999"),
        ("lists", "not-a-number"),
    ],
)
def test_bad_input_is_a_form_error_and_changes_nothing(ana, lists, field, value):
    response = Client().post(url_for(ana), form_data(lists, **{field: value}))

    assert response.status_code == 200
    assert response.context["form"].errors
    ana.refresh_from_db()
    assert (ana.name, ana.language) == ("Ana", "en")
    assert not changes(ana)


def test_tampered_token_is_a_clear_400(ana):
    token = make_preferences_token(ana)
    response = Client().get(reverse("subscribers:preferences", args=[token[:-3] + "xyz"]))

    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_an_unsubscribe_token_does_not_open_the_preference_centre(ana):
    response = Client().get(reverse("subscribers:preferences", args=[make_unsubscribe_token(ana)]))
    assert response.status_code == 400


def test_erased_person_gets_410(ana):
    url = url_for(ana)
    privacy.erase(subscriber=ana, actor=None)

    assert Client().get(url).status_code == 410
    assert Client().post(url, {"action": "leave"}).status_code == 410


def test_the_link_in_emails_opens_the_page(ana, settings):
    settings.SITE_URL = "https://news.example.org"
    path = preferences_url(ana).removeprefix("https://news.example.org")

    assert Client().get(path).status_code == 200


def test_link_works_after_a_key_rotation(ana, settings):
    settings.SECRET_KEY = "old-key-" + "x" * 50
    url = url_for(ana)
    settings.SECRET_KEY = "new-key-" + "y" * 50
    settings.SECRET_KEY_FALLBACKS = ["old-key-" + "x" * 50]

    assert Client().get(url).status_code == 200
