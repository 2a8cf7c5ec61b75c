"""Anymail's webhook URLs, each wrapped so that no request gets a 500.

The answers:

- 400/401/403: not authenticated. Anymail refuses missing or wrong basic auth
  (``WEBHOOK_SECRET``) and bad provider signatures (Mailgun's signing key,
  Postal's public key, Resend's secret); a body too broken to check a
  signature on, sent without the shared secret, is a 400 too.
- 400: a provider we are not set up for (e.g. no Mailgun signing key): once
  the operator fixes the settings, the provider's retries get through.
- 503 with ``Retry-After``: the database is unreachable; the provider retries
  later and the event is not lost.
- 200: the events were recorded, or the request was authenticated but cannot
  be used (a malformed body, a field nothing could make sense of). Every
  provider retries anything but a 2xx (Stripe for days, Postmark and SendGrid
  for hours) and such an event would never get better, so it is recorded as a
  ``RefusedWebhook`` with the reason, for staff to see in the admin, and
  acknowledged.

Amazon SES: Anymail does not verify SNS message signatures, so for SES the
``WEBHOOK_SECRET`` basic auth is the only guard (settings refuse to start
with ``DEBUG=0`` and no secret). An SNS ``SubscriptionConfirmation`` with that
secret is confirmed through the SNS API (boto3, with the same AWS credentials
as sending), never by fetching the URL in the message; when it cannot be
(no credentials, a refusal from AWS, automatic confirmation turned off) the
reason is logged and recorded, with how to confirm it by hand.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailError, AnymailWebhookValidationFailure
from anymail.webhooks.amazon_ses import AmazonSESBaseWebhookView
from anymail.webhooks.base import AnymailBasicAuthMixin
from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import ImproperlyConfigured
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern

from campaigns.events.recording import refuse_webhook
from subscribers.text import has_control_characters

logger = logging.getLogger(__name__)

# What a malformed or unexpected body raises inside Anymail's parsers: an
# expected refusal. Anything else is logged with its traceback (it may be a
# bug of ours) but answered the same way.
_BAD_INPUT = (
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    IndexError,
    UnicodeError,
    ArithmeticError,  # OverflowError from a timestamp like 1e20, decimal errors
    RecursionError,  # JSON nested thousands deep
    AnymailError,
)

# arn:aws:sns:us-east-1:123456789012:ses-events — the region picks the host
# boto3 connects to, so nothing else gets through.
_TOPIC_ARN = re.compile(r"arn:aws(?:-[a-z]+)*:sns:[a-z]{2}(?:-[a-z]+)+-\d{1,2}:\d{12}:[A-Za-z0-9_-]{1,256}(?:\.fifo)?")
_SUBSCRIBE_URL = re.compile(r"https://sns\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/\?[\x21-\x7e]{1,2000}")
_MAX_TOKEN = 2048


class SnsSubscriptionNotConfirmed(Exception):
    """An authenticated SNS SubscriptionConfirmation that Tocsin did not confirm; says why."""


class CarefulSnsConfirmation(AmazonSESBaseWebhookView):
    """Anymail's SES views, confirming SNS subscriptions only when that is safe, and saying so."""

    def auto_confirm_sns_subscription(self, sns_message: dict[str, Any]) -> None:
        if not self.basic_auth:
            # Anymail refuses it (400): without the shared secret, anyone could
            # subscribe us to their topic.
            super().auto_confirm_sns_subscription(sns_message)
            return
        topic = sns_message.get("TopicArn")
        token = sns_message.get("Token")
        if not isinstance(topic, str) or not _TOPIC_ARN.fullmatch(topic):
            raise SnsSubscriptionNotConfirmed("SNS subscription not confirmed: TopicArn is not an SNS topic ARN")
        if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN or has_control_characters(token):
            raise SnsSubscriptionNotConfirmed(f"SNS subscription to {topic} not confirmed: no usable Token")
        by_hand = "confirm it in the Amazon SNS console (Subscriptions, Confirm subscription)"
        subscribe_url = sns_message.get("SubscribeURL")
        if isinstance(subscribe_url, str) and _SUBSCRIBE_URL.fullmatch(subscribe_url):
            by_hand += f" with the SubscribeURL {subscribe_url}"
        if not _enabled(self.auto_confirm_enabled):
            raise SnsSubscriptionNotConfirmed(
                f"SNS subscription to {topic} not confirmed: AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS is off; "
                + by_hand
            )
        try:
            super().auto_confirm_sns_subscription(sns_message)
        except (BotoCoreError, ClientError) as exc:
            raise SnsSubscriptionNotConfirmed(
                f"SNS subscription to {topic} not confirmed: Amazon SNS said {exc}; {by_hand}"
            ) from exc
        logger.info("Confirmed the Amazon SNS subscription to %s", topic)


def _enabled(setting: Any) -> bool:
    # ANYMAIL_* environment variables arrive as text: "false" must mean off.
    if isinstance(setting, str):
        return setting.strip().lower() not in {"", "0", "false", "no", "off"}
    return bool(setting)


def _authenticated(view_class: type[Any], initkwargs: dict[str, Any], request: HttpRequest) -> bool:
    """Whether ``request`` passes the view's checks (or, when its body is too broken for them, its basic auth)."""
    try:
        view = view_class(**initkwargs)
    except Exception:  # a view that cannot even be set up has authenticated nothing
        return False
    try:
        view.run_validators(request)
    except AnymailWebhookValidationFailure:
        return False
    except Exception:  # the body broke a signature check before it finished
        if not view.basic_auth:
            return False
        try:
            AnymailBasicAuthMixin.validate_request(view, request)
        except AnymailWebhookValidationFailure:
            return False
    return True


def _try_later(request: HttpRequest) -> HttpResponse:
    # Providers retry on 5xx: the event is not lost, it comes back later.
    logger.exception("webhook %s: database unavailable", request.path)
    response = HttpResponse("Try again later\n", status=503, content_type="text/plain")
    response["Retry-After"] = "60"
    return response


def guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    view_class: type[Any] = view.view_class  # type: ignore[attr-defined]
    initkwargs: dict[str, Any] = view.view_initkwargs  # type: ignore[attr-defined]
    provider = str(getattr(view_class, "esp_name", "") or view_class.__name__)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except AnymailWebhookValidationFailure:
            raise  # Django answers SuspiciousOperation with a 400 and logs it as such.
        except ImproperlyConfigured as exc:
            # A provider we are not set up for (e.g. no Mailgun signing key), or
            # an inbound webhook pointed at a tracking URL.
            logger.warning("webhook %s refused: %s", request.path, exc)
            return HttpResponse("Webhook not configured for this provider\n", status=400, content_type="text/plain")
        except (OperationalError, InterfaceError):
            return _try_later(request)
        except Exception as exc:  # every other failure is answered and recorded below
            if not _authenticated(view_class, initkwargs, request):
                logger.warning("webhook %s: unauthenticated malformed request: %s", request.path, type(exc).__name__)
                return HttpResponse("Malformed webhook payload\n", status=400, content_type="text/plain")
            return _refuse(request, provider=provider, exc=exc)

    return wrapper


def _refuse(request: HttpRequest, *, provider: str, exc: Exception) -> HttpResponse:
    expected = isinstance(exc, (*_BAD_INPUT, SnsSubscriptionNotConfirmed))
    reason = str(exc) if isinstance(exc, SnsSubscriptionNotConfirmed) else f"{type(exc).__name__}: {exc}"
    try:
        refusal = refuse_webhook(
            provider=provider,
            reason=reason,
            body=request.body,
            event_type=request.headers.get("X-Amz-Sns-Message-Type", ""),
        )
    except (OperationalError, InterfaceError):
        return _try_later(request)
    logger.warning(
        "webhook %s: authenticated event refused (recorded as #%s): %s",
        request.path,
        refusal.pk,
        refusal.reason,
        exc_info=not expected,
    )
    return HttpResponse(f"Event not used, recorded: {refusal.reason}\n", status=200, content_type="text/plain")


def _view(pattern: URLPattern) -> Callable[..., HttpResponse]:
    view_class = getattr(pattern.callback, "view_class", None)
    if isinstance(view_class, type) and issubclass(view_class, AmazonSESBaseWebhookView):
        careful = type(view_class.__name__, (CarefulSnsConfirmation, view_class), {})
        return careful.as_view(**pattern.callback.view_initkwargs)  # type: ignore[attr-defined]
    return pattern.callback


app_name = anymail_urls.app_name
urlpatterns = [
    URLPattern(pattern.pattern, guarded(_view(pattern)), pattern.default_args, pattern.name)
    for pattern in anymail_urls.urlpatterns
    if isinstance(pattern, URLPattern)
]
