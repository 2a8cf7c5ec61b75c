"""Payment-provider webhooks: ``POST /donations/<provider>/webhook/``.

Answers:
- 200 when the event is recorded, was already recorded (a replay), carries
  no gift, or is genuine but can never be recorded (unreadable, an amount no
  gift has, an address that is not one): providers retry anything else for
  days, and such an event would never get better. It is recorded as a
  ``RefusedWebhook`` (Campaigns → Refused webhook events) with the reason and
  the provider's event id, for staff to look up and enter by hand if need be.
- 400 when the request cannot be shown to come from the provider (bad or
  missing signature, no secret configured).
- 503 while the database is unreachable (the provider retries later).
- 404 for an unknown provider.
Never a 500 for anything the request contains.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from campaigns.events.recording import refuse_webhook
from donations.models import Donation
from donations.providers import PaymentProvider, UnusableEvent, WebhookRejected, get_provider
from donations.services import InvalidDonation, record_donation

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def provider_webhook(request: HttpRequest, provider: str) -> JsonResponse:
    handler = get_provider(provider)
    if handler is None:
        return JsonResponse({"error": "unknown payment provider"}, status=404)
    try:
        return _handle(request, handler)
    except (OperationalError, InterfaceError):
        logger.exception("%s webhook: database unavailable", provider)
        response = JsonResponse({"error": "try again later"}, status=503)
        response["Retry-After"] = "60"
        return response


def _handle(request: HttpRequest, handler: PaymentProvider) -> JsonResponse:
    handler_name = handler.name
    try:
        gifts = handler.parse(request)
    except WebhookRejected as rejected:
        logger.warning("%s webhook rejected: %s", handler_name, rejected)
        return JsonResponse({"error": str(rejected)}, status=400)
    except UnusableEvent as unusable:
        _refuse(request, handler_name, str(unusable), event_id=unusable.event_id, event_type=unusable.event_type)
        return JsonResponse({"recorded": 0, "duplicates": 0, "refused": [str(unusable)]})
    recorded = duplicates = 0
    refused: list[str] = []
    for gift in gifts:
        try:
            _, created = record_donation(
                email=gift.email,
                name=gift.name,
                amount=gift.amount,
                currency=gift.currency,
                donated_at=gift.donated_at,
                reference=gift.reference,
                recurring=gift.recurring,
                attribution_code=gift.attribution_code,
                provider=handler_name,
                source=Donation.Source.WEBHOOK,
            )
        except InvalidDonation as invalid:
            reason = f"gift refused: {invalid}"
            _refuse(request, handler_name, reason, event_id=gift.event_id, event_type=gift.event_type)
            refused.append(reason)
            continue
        recorded += created
        duplicates += not created
    answer: dict[str, object] = {"recorded": recorded, "duplicates": duplicates}
    if refused:
        answer["refused"] = refused
    return JsonResponse(answer)


def _refuse(request: HttpRequest, provider: str, reason: str, *, event_id: str, event_type: str) -> None:
    refusal = refuse_webhook(
        provider=provider, reason=reason, body=request.body, event_id=event_id, event_type=event_type
    )
    logger.warning("%s webhook: event %s not used (recorded as #%s): %s", provider, event_id, refusal.pk, reason)
