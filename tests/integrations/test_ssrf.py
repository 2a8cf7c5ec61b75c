"""SSRF: no webhook to this server's own network, checked at registration and again at each send."""

from __future__ import annotations

import pytest

from integrations import addresses, delivering, transport
from integrations.models import WebhookDelivery
from integrations.services import InvalidEndpoint, create_endpoint
from tests.support.factories.integrations import make_endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def strict(settings):  # type: ignore[no-untyped-def]
    settings.TOCSIN_WEBHOOK_ALLOW_PRIVATE = False
    settings.DEBUG = False


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://127.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://172.16.5.4/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fd00::1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "https://100.64.0.1/hook",
        "https://localhost/hook",
        "https://localhost.:8443/hook",
    ],
)
def test_private_loopback_and_reserved_addresses_are_refused(strict, url):
    with pytest.raises(addresses.UnsafeUrl):
        addresses.check_url(url)


def test_a_public_address_is_accepted(strict):
    assert addresses.check_url(" https://93.184.215.14/hook ") == "https://93.184.215.14/hook"


@pytest.mark.parametrize(
    "url", ["ftp://93.184.215.14/x", "https://user:pw@93.184.215.14/x", "https:///nohost", "not a url", "https://[::1"]
)
def test_other_bad_urls_are_refused(strict, url):
    with pytest.raises(addresses.UnsafeUrl):
        addresses.check_url(url)


def test_plain_http_needs_debug_or_the_setting(strict, settings):
    with pytest.raises(addresses.UnsafeUrl, match="https"):
        addresses.check_url("http://93.184.215.14/hook")
    settings.DEBUG = True
    assert addresses.check_url("http://93.184.215.14/hook")


def test_the_setting_allows_a_crm_on_the_local_network(settings):
    settings.TOCSIN_WEBHOOK_ALLOW_PRIVATE = True
    assert addresses.check_url("http://10.0.0.5:8080/crm")


def test_registration_refuses_a_private_url_with_a_clear_error(strict):
    with pytest.raises(InvalidEndpoint) as refused:
        create_endpoint(url="https://127.0.0.1/x", events=["subscriber.confirmed"], actor=None)
    assert "url" in refused.value.errors


def test_a_url_that_became_private_since_registration_is_refused_at_send_time(receiver, settings):
    endpoint = make_endpoint(receiver.url())  # registered while allowed
    settings.TOCSIN_WEBHOOK_ALLOW_PRIVATE = False
    settings.DEBUG = True  # plain http allowed: the address alone is refused
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="webhook.test", message_id="msg_1", body="{}"
    )

    outcome = delivering.deliver(delivery.pk)

    assert outcome is not None and not outcome.ok
    assert "private" in outcome.error
    assert receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING and "private" in delivery.last_error


def test_the_request_goes_to_the_checked_address_not_a_second_lookup(receiver):
    # Against DNS rebinding: the name is not resolved again when connecting. This
    # name resolves nowhere, yet the request reaches the address that was checked,
    # with the name in its Host header.
    target = addresses.Target(
        scheme="http", host="crm.invalid", port=receiver.port, path="/hooks/tocsin", address="127.0.0.1"
    )

    answer = transport.post(target, b"{}", {"Content-Type": "application/json"})

    assert answer.ok
    [request] = receiver.wait_for(1)
    assert request.headers["Host"] == f"crm.invalid:{receiver.port}"
