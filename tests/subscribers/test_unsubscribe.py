"""Leaving: RFC 8058 one-click, the unsubscribe page, and tokens that must not break."""

from __future__ import annotations

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from campaigns.models import Campaign, Delivery
from subscribers.models import Consent, Subscriber, Suppression, email_hash
from subscribers.services import leaving, privacy
from subscribers.tokens import list_unsubscribe_headers, make_unsubscribe_token
from tests.support.factories import active_slugs, make_list, make_subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def ana() -> Subscriber:
    return make_subscriber(lists=[make_list("peru"), make_list("guatemala")])


def url_for(subscriber: Subscriber) -> str:
    return reverse("subscribers:unsubscribe", args=[make_unsubscribe_token(subscriber)])


def unsubscribes(subscriber: Subscriber) -> list[Consent]:
    return list(subscriber.consents.filter(action=Consent.Action.UNSUBSCRIBE))


def test_one_click_post_unsubscribes_without_cookies_or_csrf_token(ana):
    client = Client(enforce_csrf_checks=True)
    response = client.post(url_for(ana), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert "Location" not in response.headers
    assert not response.cookies
    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.UNSUBSCRIBED
    assert ana.unsubscribed_at is not None
    assert active_slugs(ana) == set()
    assert Suppression.objects.get(email_hash=email_hash("ana@example.org")).reason == "unsubscribed"
    [consent] = unsubscribes(ana)
    assert consent.channel == Consent.Channel.ONE_CLICK
    assert sorted(consent.lists) == ["guatemala", "peru"]


def test_one_click_works_with_a_multipart_body(ana):
    client = Client(enforce_csrf_checks=True)
    response = client.post(url_for(ana), {"List-Unsubscribe": "One-Click"}, format="multipart")
    # The test client's default is multipart already; make it explicit with a raw body too.
    assert response.status_code == 200
    boundary = "XyZ"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
        f"One-Click\r\n--{boundary}--\r\n"
    )
    response = client.generic("POST", url_for(ana), body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 200
    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.UNSUBSCRIBED
    assert unsubscribes(ana)[0].channel == Consent.Channel.ONE_CLICK


def test_one_click_works_with_a_raw_urlencoded_body(ana):
    client = Client(enforce_csrf_checks=True)
    response = client.generic(
        "POST", url_for(ana), "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert "Location" not in response.headers
    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.UNSUBSCRIBED


def test_second_one_click_is_still_200_and_adds_nothing(ana):
    client = Client(enforce_csrf_checks=True)
    client.post(url_for(ana), {"List-Unsubscribe": "One-Click"})
    response = client.post(url_for(ana), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert Suppression.objects.count() == 1
    assert len(unsubscribes(ana)) == 1


def test_get_shows_one_button_and_the_preference_centre_and_changes_nothing(ana):
    response = Client().get(url_for(ana))

    assert response.status_code == 200
    body = response.content.decode()
    main = body[body.index("<main") : body.index("</main>")]
    assert main.count('type="submit"') == 1
    assert "Unsubscribe me" in main
    assert '<form method="post"' in body
    assert "/preferences/" in main
    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.CONFIRMED
    assert active_slugs(ana) == {"peru", "guatemala"}
    assert not Suppression.objects.exists()
    assert not unsubscribes(ana)


def test_head_changes_nothing(ana):
    response = Client().head(url_for(ana))

    assert response.status_code == 200
    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.CONFIRMED
    assert not Suppression.objects.exists()


def test_page_button_unsubscribes_and_offers_the_preference_centre(ana):
    client = Client(enforce_csrf_checks=True)
    response = client.post(url_for(ana), {})

    assert response.status_code == 200
    body = response.content.decode()
    assert "You are unsubscribed" in body
    assert "preference centre" in body
    assert "/preferences/" in body
    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.UNSUBSCRIBED
    assert unsubscribes(ana)[0].channel == Consent.Channel.PAGE


def test_unsubscribe_records_ip_and_user_agent(ana):
    Client().post(url_for(ana), {"List-Unsubscribe": "One-Click"}, HTTP_USER_AGENT="Gmail", REMOTE_ADDR="198.51.100.9")

    [consent] = unsubscribes(ana)
    assert consent.ip_address == "198.51.100.9"
    assert consent.user_agent == "Gmail"


@pytest.mark.parametrize("method", ["get", "post"])
def test_tampered_token_gets_a_clear_400_and_changes_nothing(ana, method):
    token = make_unsubscribe_token(ana)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    url = reverse("subscribers:unsubscribe", args=[tampered])

    response = getattr(Client(), method)(url, {"List-Unsubscribe": "One-Click"} if method == "post" else None)

    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.CONFIRMED
    assert not Suppression.objects.exists()


def test_a_confirmation_token_cannot_unsubscribe(ana):
    from subscribers.tokens import make_preferences_token

    url = reverse("subscribers:unsubscribe", args=[make_preferences_token(ana)])
    assert Client().post(url, {"List-Unsubscribe": "One-Click"}).status_code == 400


def test_token_for_a_deleted_subscriber_is_a_clear_410(ana):
    url = url_for(ana)
    ana.consents.all()._raw_delete(ana.consents.db)
    ana.delete()

    assert Client().get(url).status_code == 410
    assert Client().post(url, {"List-Unsubscribe": "One-Click"}).status_code == 410


def test_token_for_an_erased_subscriber_is_a_clear_410(ana):
    url = url_for(ana)
    privacy.erase(subscriber=ana, actor=None)

    response = Client().post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 410
    assert "ana@example.org" not in response.content.decode()
    assert Client().get(url).status_code == 410


def test_token_made_before_a_key_rotation_still_works(ana, settings):
    settings.SECRET_KEY = "old-key-" + "x" * 50
    url = url_for(ana)
    settings.SECRET_KEY = "new-key-" + "y" * 50
    settings.SECRET_KEY_FALLBACKS = ["old-key-" + "x" * 50]

    response = Client(enforce_csrf_checks=True).post(url, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.UNSUBSCRIBED


def test_token_from_a_retired_key_is_refused(ana, settings):
    settings.SECRET_KEY = "old-key-" + "x" * 50
    url = url_for(ana)
    settings.SECRET_KEY = "new-key-" + "y" * 50
    settings.SECRET_KEY_FALLBACKS = []

    assert Client().post(url, {"List-Unsubscribe": "One-Click"}).status_code == 400


def test_tokens_do_not_expire(ana, time_machine):
    url = url_for(ana)
    time_machine.move_to("2031-01-01")
    assert Client().post(url, {"List-Unsubscribe": "One-Click"}).status_code == 200


def test_header_url_is_the_one_click_endpoint(ana, settings):
    settings.SITE_URL = "https://news.example.org"
    headers = list_unsubscribe_headers(ana)
    url = headers["List-Unsubscribe"].strip("<>").removeprefix("https://news.example.org")

    response = Client(enforce_csrf_checks=True).post(url, {"List-Unsubscribe": "One-Click"})

    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert response.status_code == 200
    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.UNSUBSCRIBED


def test_leaving_mid_send_skips_the_queued_delivery(ana):
    campaign = Campaign.objects.create(subject="Bulletin", status=Campaign.Status.SENDING)
    queued = Delivery.objects.create(campaign=campaign, subscriber=ana)
    sent_before = Delivery.objects.create(
        campaign=Campaign.objects.create(subject="Older"), subscriber=ana, status=Delivery.Status.SENT
    )

    Client().post(url_for(ana), {"List-Unsubscribe": "One-Click"})

    queued.refresh_from_db()
    sent_before.refresh_from_db()
    assert queued.status == Delivery.Status.SKIPPED
    assert sent_before.status == Delivery.Status.SENT


def test_staff_can_take_someone_off_some_lists_only(ana):
    peru = ana.lists.get(slug="peru")

    leaving.unsubscribe(subscriber=ana, channel=Consent.Channel.STAFF, lists=[peru])

    ana.refresh_from_db()
    assert ana.status == Subscriber.Status.CONFIRMED
    assert active_slugs(ana) == {"guatemala"}
    assert not Suppression.objects.exists()
    [consent] = unsubscribes(ana)
    assert consent.lists == ["peru"]
    assert consent.channel == Consent.Channel.STAFF
    assert consent.source == Consent.Source.STAFF


@pytest.mark.parametrize("body", ["", "List-Unsubscribe=One-Click&x=" + "a" * 5000, "\x00\xff"])
def test_odd_posts_never_500(ana, body):
    response = Client().generic("POST", url_for(ana), body.encode("latin-1"), content_type="text/plain")
    assert response.status_code == 200


def test_garbage_tokens_never_500():
    for token in ["x", "1", "1:abc", signing.Signer(salt="other").sign("1"), "%00", "a" * 500]:
        response = Client().post(f"/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"})
        assert response.status_code in {400, 404}


@pytest.mark.django_db
def test_a_one_click_unsubscribe_counts_in_the_report_of_the_campaign_that_prompted_it(client):
    from django.utils import timezone

    from campaigns.models import Campaign, Delivery, DeliveryEvent
    from campaigns.reports.figures import campaign_report
    from subscribers.models import Subscriber
    from subscribers.tokens import make_unsubscribe_token

    person = Subscriber.objects.create(email="ana@example.org", status=Subscriber.Status.CONFIRMED)
    campaign = Campaign.objects.create(subject="Bulletin", status=Campaign.Status.SENT)
    Delivery.objects.create(campaign=campaign, subscriber=person, status=Delivery.Status.SENT, sent_at=timezone.now())

    response = client.post(f"/unsubscribe/{make_unsubscribe_token(person)}/", {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert DeliveryEvent.objects.filter(campaign=campaign, kind=DeliveryEvent.Kind.UNSUBSCRIBED).count() == 1
    assert campaign_report(campaign).unsubscribes == 1


# --- coming back to the link after leaving ------------------------------------------------------


def main_of(response) -> str:
    body = response.content.decode()
    return body[body.index("<main") : body.index("</main>")]


def in_language(language: str, text: str) -> str:
    from django.utils import translation

    with translation.override(language):
        return translation.gettext(text)


@pytest.mark.parametrize("language", ["en", "es", "fr"])
def test_a_second_visit_says_already_unsubscribed_and_offers_the_way_back(language):
    ana = make_subscriber(lists=[make_list("peru")], language=language)
    client = Client(enforce_csrf_checks=True)
    client.post(url_for(ana), {})

    for response in (client.get(url_for(ana)), client.post(url_for(ana), {})):
        assert response.status_code == 200
        main = main_of(response)
        assert f'<html lang="{language}">' in response.content.decode()
        assert in_language(language, "You are already unsubscribed") in main
        # No button that would do nothing, and the preference centre to come back.
        assert 'type="submit"' not in main
        assert in_language(language, "go to the preference centre") in main
        assert '<a href="/preferences/' in main
    assert len(unsubscribes(ana)) == 1


def test_the_first_visit_is_not_told_it_already_left(ana):
    assert "already" not in main_of(Client().get(url_for(ana)))
    assert "already" not in main_of(Client().post(url_for(ana), {}))


def test_a_second_one_click_says_already_unsubscribed_in_the_persons_language():
    ana = make_subscriber(lists=[make_list("peru")], language="es")
    client = Client(enforce_csrf_checks=True)
    first = client.post(url_for(ana), {"List-Unsubscribe": "One-Click"})
    second = client.post(url_for(ana), {"List-Unsubscribe": "One-Click"})

    assert (first.status_code, second.status_code) == (200, 200)
    already = in_language("es", "You are already unsubscribed")
    assert already not in first.content.decode()
    assert already in second.content.decode()
    assert "/preferences/" in second.content.decode()
    assert not second.cookies
    assert len(unsubscribes(ana)) == 1


def test_a_bounced_address_is_told_it_gets_nothing_and_pointed_to_a_new_signup(ana):
    leaving.suppress(email=ana.email, reason="bounced")

    response = Client().get(url_for(ana))

    main = main_of(response)
    assert "You are already unsubscribed" in main
    assert 'type="submit"' not in main
    # The preference centre cannot bring back a bounced address; a confirmed sign-up can.
    assert 'href="/signup/"' in main
    assert "/preferences/" not in main


def test_leaving_twice_from_the_preference_centre_says_already(ana):
    from subscribers.tokens import make_preferences_token

    url = reverse("subscribers:preferences", args=[make_preferences_token(ana)])
    client = Client()
    client.get(url)  # the CSRF cookie
    token = client.cookies["csrftoken"].value
    first = client.post(url, {"action": "leave", "csrfmiddlewaretoken": token})
    second = client.post(url, {"action": "leave", "csrfmiddlewaretoken": token})

    assert "You are unsubscribed" in main_of(first)
    assert "You are already unsubscribed" in main_of(second)
    assert len(unsubscribes(ana)) == 1
