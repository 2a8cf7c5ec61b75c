"""Payment-provider webhooks: ``POST /donations/<provider>/webhook/``.

Answers: 200 when the event is recorded, was already recorded (a replay) or
carries no gift; 400 when its signature or content is wrong (the provider
retries and shows the failure in its dashboard); 404 for an unknown provider.
Never a 500 for anything the request contains.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from donations.models import Donation
from donations.providers import WebhookRejected, get_provider
from donations.services import InvalidDonation, record_donation

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def provider_webhook(request: HttpRequest, provider: str) -> JsonResponse:
    handler = get_provider(provider)
    if handler is None:
        return JsonResponse({"error": "unknown payment provider"}, status=404)
    try:
        gifts = handler.parse(request)
    except WebhookRejected as rejected:
        logger.warning("%s webhook rejected: %s", provider, rejected)
        return JsonResponse({"error": str(rejected)}, status=400)
    recorded = duplicates = 0
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
                provider=handler.name,
                source=Donation.Source.WEBHOOK,
            )
        except InvalidDonation as invalid:
            logger.warning("%s webhook: gift %s refused: %s", provider, gift.reference, invalid)
            return JsonResponse({"error": str(invalid), "errors": invalid.errors}, status=400)
        recorded += created
        duplicates += not created
    return JsonResponse({"recorded": recorded, "duplicates": duplicates})
