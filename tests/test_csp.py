"""Content-Security-Policy: strict on public pages, scripts from static files only in the admin.

Each page's HTML is read against the policy its own response carries, the way
a browser would apply it: an inline script, an ``on…=`` handler, a style the
policy does not allow, or a script, frame or form target from an origin it
does not name would be blocked (and the page broken). Headless Chromium
confirms the same pages report no violation (see the report of issue 10);
these tests keep it that way without a browser.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from campaigns.models import Article, Campaign, Delivery
from campaigns.staff.two_factor import issue_backup_code
from subscribers.models import MailingList, Subscriber
from subscribers.tokens import make_preferences_token, make_unsubscribe_token
from tests.support.csp import blocked_on, digest
from tests.support.personas import verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.VAR_DIR = tmp_path  # seed_demo keeps the demo password there
    call_command("seed_demo", stdout=io.StringIO())
    sent = Campaign.objects.create(
        subject="Lithium: the consultation that never was",
        body_markdown="Read **more** ![a march](https://photos.example.org/march.jpg) [here](https://example.org/).",
        status=Campaign.Status.SENT,
        started_at=timezone.now(),
    )
    sent.lists.set(MailingList.objects.all()[:2])
    sending = Campaign.objects.create(
        subject="Urgent: troops in the province",
        body_markdown="Act now.",
        kind=Campaign.Kind.ALERT,
        status=Campaign.Status.SENDING,
        started_at=timezone.now(),
    )
    sending.lists.set(MailingList.objects.all()[:1])
    person = Subscriber.objects.filter(status=Subscriber.Status.CONFIRMED).first()
    Delivery.objects.create(campaign=sent, subscriber=person, status=Delivery.Status.SENT, sent_at=timezone.now())
    return {"sent": sent, "sending": sending, "person": person}


def public_urls(demo) -> list[str]:  # type: ignore[no-untyped-def]
    article = Article.objects.filter(status=Article.Status.PUBLISHED).first()
    return [
        "/",
        "/signup/",
        "/signup/embed/",
        "/signup/thanks/",
        "/articles/",
        f"/articles/{article.slug}/",
        "/topics/",
        "/bulletins/",
        f"/unsubscribe/{make_unsubscribe_token(demo['person'])}/",
        f"/preferences/{make_preferences_token(demo['person'])}/",
        "/confirm/not-a-token/",
    ]


def test_public_pages_forbid_inline_script_and_style_and_use_none(client, demo):
    for url in public_urls(demo):
        response = client.get(url)
        policy, blocked = blocked_on(response)
        assert blocked == [], url
        assert policy["default-src"] == ["'none'"]
        assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no CDN
        assert "'unsafe-inline'" not in policy["style-src"]
        assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]


def test_the_embed_page_allows_exactly_the_snippet_s_own_inline_style(client, demo):
    policy, blocked = blocked_on(client.get("/signup/embed/"))
    assert blocked == []
    assert policy["style-src"] == ["'self'", "'unsafe-hashes'", digest("position:absolute;left:-10000px")]


def test_turnstile_is_allowed_only_while_the_captcha_is_on(client, demo, settings):
    assert "challenges.cloudflare.com" not in client.get("/signup/")["Content-Security-Policy"]
    settings.TURNSTILE_SITE_KEY = "1x00000000000000000000AA"
    settings.TURNSTILE_SECRET_KEY = "1x0000000000000000000000000000000AA"
    for url in ("/signup/", "/signup/embed/"):
        response = client.get(url)
        assert "challenges.cloudflare.com/turnstile" in response.content.decode()
        policy, blocked = blocked_on(response)
        assert blocked == [], url
        assert policy["frame-src"] == ["https://challenges.cloudflare.com"]


def test_the_web_version_of_a_bulletin_keeps_its_email_styles_and_runs_no_script(client, demo):
    response = client.get(f"/bulletins/{demo['sent'].attribution_code}/")
    policy, blocked = blocked_on(response)
    assert 'style="' in response.content.decode()
    assert blocked == []
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["script-src"] == ["'self'"]


def test_admin_pages_run_scripts_from_static_files_only(demo):
    staff_client = verified(Client(), _demo_user())
    sent, sending = demo["sent"], demo["sending"]
    urls = [
        "/admin/",
        "/admin/campaigns/campaign/",
        f"/admin/campaigns/campaign/{sending.pk}/change/",  # live progress
        f"/admin/campaigns/campaign/{sent.pk}/preview/",  # the email in a srcdoc frame
        "/admin/campaigns/campaign/add/",
        f"/admin/campaigns/campaign/{sent.pk}/report/",
        "/admin/campaigns/article/add/",
        "/admin/subscribers/subscriber/",
        "/admin/auth/user/",
        "/admin/2fa/setup/",
    ]
    for url in urls:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        policy, blocked = blocked_on(response)
        assert blocked == [], url
        assert policy["script-src"] == ["'self'"], url
        assert policy["frame-ancestors"] == ["'none'"]
    live = staff_client.get(f"/admin/campaigns/campaign/{sending.pk}/change/").content.decode()
    assert 'data-live="1"' in live and "tocsin/admin-campaign.js" in live


def test_the_two_step_pages_work_under_the_admin_policy(client, demo):
    user = _demo_user()
    client.force_login(user)
    for url in ("/admin/2fa/verify/", "/admin/login/"):
        _policy, blocked = blocked_on(client.get(url))
        assert blocked == [], url
    code = issue_backup_code(user)
    client.post("/admin/2fa/verify/", {"token": code})
    _policy, blocked = blocked_on(client.get("/admin/2fa/setup/"))
    assert blocked == []


def _demo_user() -> User:
    return User.objects.get(username="demo")


def test_a_page_s_own_additions_stay_on_that_page(client, demo):
    plain = client.get("/signup/")["Content-Security-Policy"]
    embed_policy, _blocked = blocked_on(client.get("/signup/embed/"))
    assert "'unsafe-hashes'" in embed_policy["style-src"]
    assert client.get("/signup/")["Content-Security-Policy"] == plain
    assert "'unsafe-hashes'" not in plain
