"""/api/v1/ lists, subscribers and campaigns: each endpoint reads its schema, calls one service, answers.

Domain exceptions become answers in ``campaigns.api.app`` (a refused step: 409,
a time in the past or bad fields: 400). Authentication is by bearer token
only (never the session cookie), so no endpoint needs a CSRF token.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Router, Status
from ninja.errors import HttpError
from pydantic import PlainValidator, WithJsonSchema

from campaigns import lifecycle
from campaigns.api import options
from campaigns.api.app import Invalid
from campaigns.api.auth import BearerToken, token_user
from campaigns.api.fields import problem
from campaigns.api.schemas import (
    ERRORS,
    CampaignCreated,
    CampaignInput,
    CampaignOut,
    ErrorOut,
    MailingListOut,
    SendInput,
    SubscriberInput,
    SubscriberOut,
    SuppressedOut,
)
from campaigns.models import Campaign
from campaigns.reports.figures import delivered_count
from campaigns.sending import ab_test
from campaigns.services import drafts
from campaigns.staff.roles import APPROVE_PERMISSION, SEND_PERMISSION
from subscribers.models import Consent, MailingList
from subscribers.services.signup import InvalidSignup, subscribe

router = Router(tags=["lists, subscribers, campaigns"])
STEP = {202: CampaignOut, 404: ErrorOut, 409: ErrorOut, **ERRORS}
API_COUNTS = ("recipients", "sent", "failed", "unknown", "pending", "capped")


def campaign_json(campaign: Campaign) -> dict[str, Any]:
    counts = lifecycle.campaign_counts(campaign)
    return {
        "id": campaign.pk,
        "kind": campaign.kind,
        "subject": campaign.subject,
        "status": campaign.status,
        "status_reason": campaign.status_reason,
        "language": campaign.language,
        "scheduled_at": campaign.scheduled_at.isoformat() if campaign.scheduled_at else None,
        "public_archive": campaign.in_public_archive,
        "audience": {
            "lists": [mailing_list.slug for mailing_list in campaign.lists.all()],
            "languages": campaign.languages,
            "engaged_within_days": campaign.engaged_within_days,
            "signed_up_after": campaign.signed_up_after.isoformat() if campaign.signed_up_after else None,
            "signed_up_before": campaign.signed_up_before.isoformat() if campaign.signed_up_before else None,
        },
        # "delivered" as in every report (campaigns/reports/figures.py): null when the provider reports no deliveries.
        "counts": {**{key: counts[key] for key in API_COUNTS}, "delivered": delivered_count(campaign)},
        "ab_test": ab_test.summary(campaign),
        **options.read_back(campaign),
    }


def _campaign(value: Any) -> Campaign:
    if not str(value).isdigit():
        raise problem("int_type", _("Must be a whole number."))
    campaign = Campaign.objects.filter(pk=int(value)).first()
    if campaign is None:
        # Not a ValueError: pydantic lets it through, so an unknown campaign is a 404
        # before its body is read (the path is resolved first).
        raise HttpError(404, _("No such campaign."))
    return campaign


CampaignById = Annotated[Any, PlainValidator(_campaign), WithJsonSchema({"type": "integer"})]
BY_ID = Path(alias="id")  # the path's name; the view gets the campaign
NO_OPTIONS = SendInput()  # no body: send now


def _lists(slugs: list[str]) -> list[MailingList]:
    found = list(MailingList.objects.filter(slug__in=slugs))
    missing = sorted(set(slugs) - {mailing_list.slug for mailing_list in found})
    if missing:
        raise Invalid({"lists": [_("Unknown list: %(slugs)s") % {"slugs": ", ".join(missing)}]})
    return found


@router.get("/lists", response={200: list[MailingListOut], **ERRORS}, auth=BearerToken("subscribers.view_mailinglist"))
def lists(request: HttpRequest) -> Any:
    """The mailing lists."""
    return MailingList.objects.order_by("position", "name").values("id", "slug", "name", "public")


@router.post(
    "/subscribers",
    response={201: SubscriberOut, 200: SubscriberOut, 409: SuppressedOut, **ERRORS},
    auth=BearerToken("subscribers.add_subscriber"),
)
def subscribers(request: HttpRequest, payload: SubscriberInput) -> Any:
    """Add a subscriber with the consent they gave.

    Without double_opt_in the person is confirmed at once and the consent source is recorded as evidence;
    with double_opt_in: true they stay pending and get a confirmation email. An existing address answers 200
    with its id, the lists added. An address that unsubscribed, bounced or complained is never added back (409).
    """
    try:
        result = subscribe(
            email=payload.email,
            name=payload.name or "",
            language=payload.language or settings.LANGUAGE_CODE,
            lists=payload.lists,
            source=Consent.Source.API,
            double_opt_in=bool(payload.double_opt_in),
            # The API caller knows what the person was shown; we do not, so
            # nothing of ours is recorded as the wording unless they send it.
            wording=payload.consent_wording or "",
            detail=payload.consent_source,
            actor=token_user(request),
        )
    except InvalidSignup as problem:
        raise Invalid({problem.field: [problem.message]}) from None
    person = result.subscriber
    if result.outcome == "suppressed" or person is None:
        message = _(
            "This address unsubscribed, bounced or complained: it is not added back. "
            "Only the person can sign up again (send double_opt_in: true to ask them)."
        )
        return Status(409, {"detail": message, "id": person.pk if person else None})
    return Status(201 if result.created else 200, {"id": person.pk, "status": person.status})


@router.post("/campaigns", response={201: CampaignCreated, **ERRORS}, auth=BearerToken("campaigns.add_campaign"))
def campaigns(request: HttpRequest, payload: CampaignInput) -> Any:
    """Create a campaign draft."""
    fields = payload.model_dump(exclude_none=True, exclude={"lists", "translations", "ab_test", *options.FIELDS})
    fields.setdefault("language", settings.LANGUAGE_CODE)
    given = payload.translations.model_dump(exclude_none=True) if payload.translations else {}
    translations = {code: texts for code, texts in given.items() if texts}
    extras = _options(payload)
    with transaction.atomic():
        campaign = drafts.create_campaign(
            actor=token_user(request),
            campaign=Campaign(**fields),
            lists=_lists(payload.lists),
            translations=translations,
            ab_test=payload.ab_test.model_dump() if payload.ab_test else None,
            via="API",
        )
        for handler, value in extras:
            handler.save(campaign, value)
    return Status(201, {"id": campaign.pk, "status": campaign.status})


def _options(payload: CampaignInput) -> list[tuple[options.CampaignOption, Any]]:
    """The fields higher apps handle (campaigns/api/options.py), checked before anything is written."""
    found, errors = [], {}
    for name in options.FIELDS:
        value = getattr(payload, name)
        if value is None:
            continue
        handler = options.option(name)
        problems = handler.check(value) if handler else [_("Not available on this installation.")]
        if problems:
            errors[name] = problems
        elif handler is not None:
            found.append((handler, value))
    if errors:
        raise Invalid(errors)
    return found


@router.get(
    "/campaigns/{id}",
    response={200: CampaignOut, 404: ErrorOut, **ERRORS},
    auth=BearerToken("campaigns.view_campaign"),
)
def campaign_detail(request: HttpRequest, campaign: CampaignById = BY_ID) -> Any:
    """A campaign and its delivery counts (recipients: the live audience before sending, the ledger after)."""
    return Status(200, campaign_json(campaign))


@router.post("/campaigns/{id}/send", response=STEP, auth=BearerToken(SEND_PERMISSION))
def campaign_send(request: HttpRequest, campaign: CampaignById = BY_ID, payload: SendInput = NO_OPTIONS) -> Any:
    """Send now, or schedule.

    With `at` (ISO-8601) the campaign is scheduled; a time without an offset is in the organisation's time
    zone; a time in the past is a 400. When approval is required (TOCSIN_REQUIRE_APPROVAL) and the campaign
    is not approved, or its text has a broken merge tag, 409 with the reason.
    """
    return Status(202, campaign_json(lifecycle.start(campaign=campaign, actor=token_user(request), at=payload.at)))


@router.post("/campaigns/{id}/pause", response=STEP, auth=BearerToken(SEND_PERMISSION))
def campaign_pause(request: HttpRequest, campaign: CampaignById = BY_ID) -> Any:
    """Pause sending (only while sending)."""
    return Status(202, campaign_json(lifecycle.pause(campaign=campaign, actor=token_user(request))))


@router.post("/campaigns/{id}/resume", response=STEP, auth=BearerToken(SEND_PERMISSION))
def campaign_resume(request: HttpRequest, campaign: CampaignById = BY_ID) -> Any:
    """Resume sending (only while paused)."""
    return Status(202, campaign_json(lifecycle.resume(campaign=campaign, actor=token_user(request))))


@router.post("/campaigns/{id}/cancel", response=STEP, auth=BearerToken(SEND_PERMISSION))
def campaign_cancel(request: HttpRequest, campaign: CampaignById = BY_ID) -> Any:
    """Cancel, before or during sending."""
    return Status(202, campaign_json(lifecycle.cancel(campaign=campaign, actor=token_user(request))))


@router.post("/campaigns/{id}/submit", response=STEP, auth=BearerToken("campaigns.change_campaign"))
def campaign_submit(request: HttpRequest, campaign: CampaignById = BY_ID) -> Any:
    """Submit a draft for review: the first step when approval is required."""
    return Status(202, campaign_json(lifecycle.submit_for_review(campaign=campaign, actor=token_user(request))))


@router.post("/campaigns/{id}/approve", response=STEP, auth=BearerToken(APPROVE_PERMISSION))
def campaign_approve(request: HttpRequest, campaign: CampaignById = BY_ID) -> Any:
    """Approve a campaign in review: the approver must not have written or edited it."""
    return Status(202, campaign_json(lifecycle.approve(campaign=campaign, actor=token_user(request))))
