"""PostgreSQL unreachable: a translated 503 page (JSON under /api/), and one-click unsubscribes kept.

The web process is gunicorn with DEBUG off, as in production, reaching the
test database through a TCP gate of the test's own (tests/support/outages.py).
Closing the gate is what the web process would see if PostgreSQL stopped:
its open connections are reset and nothing listens on the port any more.
The shared PostgreSQL itself is never stopped (other people's tests use it);
starting a throw-away PostgreSQL would need initdb and a migration for the
same two symptoms. The broker is a redis-server of the test's own, stopped
for the step where both are down.
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
from django.db import connection
from django.utils import timezone

from subscribers.models import Consent, MailingList, Subscriber, Subscription
from subscribers.tokens import unsubscribe_url
from tests.support.outages import TcpGate, WebProcess, own_redis
from tests.support.personas import admin, token_for
from tests.support.waiting import wait_until
from tests.support.workers import start_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ONE_CLICK = {"Content-Type": "application/x-www-form-urlencoded"}
APOLOGY = {
    "en": "We will be back in a moment",
    "es": "Volvemos en un momento",
    "fr": "Nous revenons dans un instant",
}


def gated_database_url(port: int) -> str:
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    return f"postgres://{credentials}127.0.0.1:{port}/{quote(db['NAME'], safe='')}"


@pytest.fixture
def gate():
    db = connection.settings_dict
    gate = TcpGate(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))
    gate.open()
    yield gate
    gate.close()


def subscriber(email: str, mailing_list: MailingList) -> Subscriber:
    person = Subscriber.objects.create(email=email, status=Subscriber.Status.CONFIRMED, confirmed_at=timezone.now())
    Subscription.objects.create(subscriber=person, mailing_list=mailing_list)
    return person


def status_of(person: Subscriber) -> str:
    return Subscriber.objects.values_list("status", flat=True).get(pk=person.pk)


def test_with_the_database_unreachable_visitors_get_a_503_and_one_click_unsubscribes_are_kept(
    gate, smtp_server, settings, tmp_path
):
    peru = MailingList.objects.create(slug="peru", name="Peru", public=True)
    ana, bea = subscriber("ana@example.org", peru), subscriber("bea@example.org", peru)
    token = token_for(admin())
    with own_redis(tmp_path / "redis") as broker:
        database_url = gated_database_url(gate.port)
        web = WebProcess({"DATABASE_URL": database_url, "REDIS_URL": broker.url}, tmp_path / "web")
        settings.SECRET_KEY = web.env["SECRET_KEY"]  # the links must be signed as the web process checks them
        ana_link, bea_link = (urlsplit(unsubscribe_url(person)).path for person in (ana, bea))
        web.start()
        worker = None
        try:
            assert web.get("/signup/").status == 200, web.log

            gate.close()

            for language, words in APOLOGY.items():
                page = web.get("/", {"Accept-Language": language})
                assert page.status == 503, web.log
                assert page.headers["retry-after"] == "60"
                assert words in page.body
                assert f'<html lang="{language}">' in page.body
            api = web.get("/api/v1/lists", {"Authorization": f"Bearer {token}"})
            assert api.status == 503
            assert api.headers["content-type"] == "application/json"
            assert json.loads(api.body)["detail"]
            assert api.headers["retry-after"] == "60"
            assert web.get("/healthz").status == 200
            ready = web.get("/readyz")
            assert (ready.status, json.loads(ready.body)["database"]) == (503, "down")

            # Database and broker both down: nothing can keep the request, so
            # the mailbox provider is told to try again.
            broker.stop()
            refused = web.post(bea_link, "List-Unsubscribe=One-Click", ONE_CLICK)
            assert refused.status == 503
            assert refused.headers["retry-after"] == "60"
            broker.start()

            clicked_at = timezone.now()
            kept = web.post(ana_link, "List-Unsubscribe=One-Click", ONE_CLICK)
            assert kept.status == 202, web.log
            assert "set-cookie" not in kept.headers

            # The worker cannot reach the database either, at first: it retries.
            worker = start_worker(smtp_server.url, "dbdown", DATABASE_URL=database_url, REDIS_URL=broker.url)
            gate.open()

            wait_until(lambda: status_of(ana) == Subscriber.Status.UNSUBSCRIBED, timeout=90, message="Ana leaving")
            leaving = Consent.objects.get(subscriber=ana, action=Consent.Action.UNSUBSCRIBE)
            assert leaving.channel == Consent.Channel.ONE_CLICK
            assert abs(leaving.requested_at - clicked_at) < timedelta(seconds=5)  # when she clicked, not when applied

            # Bea's provider tries again once the database is back.
            assert status_of(bea) == Subscriber.Status.CONFIRMED
            assert web.post(bea_link, "List-Unsubscribe=One-Click", ONE_CLICK).status == 200
            assert status_of(bea) == Subscriber.Status.UNSUBSCRIBED
            assert web.get("/").status == 200
        finally:
            if worker is not None:
                worker.stop()
            web.stop()


SORRY = {
    "en": "Something went wrong on our side",
    "es": "Algo falló de nuestro lado",
    "fr": "Un problème est survenu de notre côté",
}


def test_with_the_database_and_redis_unreachable_a_bug_still_shows_the_branded_500_page(gate, tmp_path):
    # tests.support.broken_settings: Tocsin plus /broken/, a view with a bug that needs no database.
    with own_redis(tmp_path / "redis") as broker:
        web = WebProcess(
            {
                "DJANGO_SETTINGS_MODULE": "tests.support.broken_settings",
                "DATABASE_URL": gated_database_url(gate.port),
                "REDIS_URL": broker.url,
                "CACHE_URL": broker.url,
                "TOCSIN_ORG_NAME": "Red Andina de Defensores",
            },
            tmp_path / "web",
        )
        web.start()
        try:
            gate.close()
            broker.stop()

            for language, words in SORRY.items():
                page = web.get("/broken/", {"Accept-Language": language})
                assert page.status == 500, web.log
                assert words in page.body
                assert f'<html lang="{language}">' in page.body
                assert "Red Andina de Defensores" in page.body
                assert "/static/tocsin/site." in page.body  # the stylesheet, from the manifest
            assert "could not be rendered" not in web.log
        finally:
            web.stop()
