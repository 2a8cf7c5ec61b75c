"""JSON API views: thin wrappers that validate, call a service, and answer.

Authentication is by bearer token only (never the session cookie), which is
why these views, and only these, are exempt from CSRF checks.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from campaigns import lifecycle
from campaigns.api import validation as v
from campaigns.api.auth import authenticate
from campaigns.api.schema import openapi_schema
from campaigns.models import Campaign, CampaignTranslation
from campaigns.reports.figures import delivered_count
from campaigns.staff import audit
from campaigns.staff.roles import APPROVE_PERMISSION, SEND_PERMISSION
from subscribers.models import Consent, MailingList
from subscribers.services.signup import InvalidSignup, subscribe

LANGUAGE_CODES = [code for code, _label in settings.LANGUAGES]
# Generous for a bulletin, small enough that nobody stores a novel per call.
MAX_MARKDOWN = 100_000


def error(status: int, detail: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"detail": str(detail), **extra}, status=status)


def invalid(errors: dict[str, list[str]]) -> JsonResponse:
    return JsonResponse({"errors": errors, "detail": _("The request is not valid.")}, status=400)


def endpoint(*, methods: list[str], permission: str | None = None) -> Callable[..., Any]:
    """Token authentication, permission and method checks, and domain errors → JSON."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = authenticate(request)
            if user is None:
                response = error(401, _("Authentication required: send 'Authorization: Bearer <token>'."))
                response["WWW-Authenticate"] = 'Bearer realm="api"'
                return response
            if request.method not in methods:
                response = error(405, _("Method not allowed."))
                response["Allow"] = ", ".join(methods)
                return response
            if permission and not user.has_perm(permission):
                return error(403, _("This token's user is not allowed to do that."))
            request.user = user
            try:
                return view(request, *args, **kwargs)
            except v.Invalid as problem:
                return invalid(problem.errors)
            except lifecycle.ScheduleInPast as problem:
                return invalid({"at": [str(problem)]})
            except lifecycle.Refused as problem:
                return error(409, str(problem))

        return wrapper

    return decorate


def _campaign_or_404(pk: int) -> Campaign | None:
    return Campaign.objects.filter(pk=pk).first()


def campaign_json(campaign: Campaign) -> dict[str, Any]:
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
        "counts": {
            **{key: value for key, value in lifecycle.campaign_counts(campaign).items() if key != "skipped"},
            "delivered": delivered_count(campaign),
        },
    }


@csrf_exempt
def not_found(request: HttpRequest) -> JsonResponse:
    return error(404, _("No such endpoint: see /api/v1/openapi.json."))


# --- Schema and lists ----------------------------------------------------------------


def openapi(request: HttpRequest) -> JsonResponse:
    # The schema describes the API, not its data: public, like any API reference.
    return JsonResponse(openapi_schema(request), json_dumps_params={"indent": 2})


@endpoint(methods=["GET"], permission="subscribers.view_mailinglist")
def lists(request: HttpRequest) -> JsonResponse:
    rows = MailingList.objects.order_by("position", "name").values("id", "slug", "name", "public")
    return JsonResponse(list(rows), safe=False)


# --- Subscribers -----------------------------------------------------------------------


@endpoint(methods=["POST"], permission="subscribers.add_subscriber")
def subscribers(request: HttpRequest) -> JsonResponse:
    data = v.json_body(request)
    errors = v.Errors()
    email = v.text(data, "email", errors, required=True, max_length=254, single_line=True)
    name = v.text(data, "name", errors, max_length=100, single_line=True)
    language = v.choice(data, "language", errors, choices=LANGUAGE_CODES, default=settings.LANGUAGE_CODE)
    slugs = v.slug_list(data, "lists", errors, required=True)
    consent_source = v.text(data, "consent_source", errors, required=True, max_length=255, single_line=True)
    wording = v.text(data, "consent_wording", errors, max_length=5000)
    double_opt_in = v.boolean(data, "double_opt_in", errors, default=False)
    v.refuse_unknown(data, errors)
    errors.raise_if_any()
    try:
        result = subscribe(
            email=email,
            name=name,
            language=language,
            lists=slugs,
            source=Consent.Source.API,
            double_opt_in=double_opt_in,
            # The API caller knows what the person was shown; we do not, so
            # nothing of ours is recorded as the wording unless they send it.
            wording=wording,
            detail=consent_source,
            actor=request.user,
        )
    except InvalidSignup as problem:
        raise v.Invalid({problem.field: [problem.message]}) from None
    subscriber = result.subscriber
    if result.outcome == "suppressed" or subscriber is None:
        return error(
            409,
            _(
                "This address unsubscribed, bounced or complained: it is not added back. "
                "Only the person can sign up again (send double_opt_in: true to ask them)."
            ),
            id=subscriber.pk if subscriber else None,
        )
    return JsonResponse({"id": subscriber.pk, "status": subscriber.status}, status=201 if result.created else 200)


# --- Campaigns ---------------------------------------------------------------------------


# all / exclude_recent / lapsed / never (donations/audience.py); N is exclude_donors_days.
DONOR_RULES = [value for value, _label in Campaign._meta.get_field("donor_rule").choices or []]


def _validate_campaign(data: v.Body) -> dict[str, Any]:
    errors = v.Errors()
    fields: dict[str, Any] = {
        "kind": v.choice(data, "kind", errors, choices=Campaign.Kind.values, required=True),
        "subject": v.text(data, "subject", errors, required=True, max_length=200, single_line=True),
        "body_markdown": v.text(data, "body_markdown", errors, required=True, max_length=MAX_MARKDOWN),
        "language": v.choice(data, "language", errors, choices=LANGUAGE_CODES, default=settings.LANGUAGE_CODE),
        "preheader": v.text(data, "preheader", errors, max_length=200, single_line=True),
        "call_to_action_text": v.text(data, "call_to_action_text", errors, max_length=100, single_line=True),
        "call_to_action_url": v.text(data, "call_to_action_url", errors, max_length=200, single_line=True),
        "tracking_enabled": v.boolean(data, "tracking_enabled", errors, default=True),
        # Left out: as the kind decides (Campaign.in_public_archive).
        "public_archive": (
            v.boolean(data, "public_archive", errors, default=False) if data.get("public_archive") is not None else None
        ),
        "exclude_donors_days": v.integer(data, "exclude_donors_days", errors, minimum=1, maximum=3650),
        "donor_rule": v.choice(data, "donor_rule", errors, choices=DONOR_RULES, default="all"),
        # Audience filters, as in the admin (campaigns/sending/audience.py).
        "engaged_within_days": v.integer(data, "engaged_within_days", errors, minimum=1, maximum=3650),
        "signed_up_after": v.moment(data, "signed_up_after", errors),
        "signed_up_before": v.moment(data, "signed_up_before", errors),
    }
    after, before = fields["signed_up_after"], fields["signed_up_before"]
    if after and before and after >= before:
        errors.add("signed_up_before", _("Must be later than signed_up_after."))
    if fields["call_to_action_url"]:
        try:
            URLValidator(schemes=["http", "https"])(fields["call_to_action_url"])
        except ValidationError:
            errors.add("call_to_action_url", _("Enter a valid http or https URL."))
    if fields["exclude_donors_days"] is not None and fields["kind"] != Campaign.Kind.APPEAL:
        errors.add("exclude_donors_days", _("Only donation appeals can leave out recent donors."))
    if fields["donor_rule"] != "all" and fields["kind"] != Campaign.Kind.APPEAL:
        errors.add("donor_rule", _("Only donation appeals can choose among donors."))

    slugs = v.slug_list(data, "lists", errors, required=True)
    found = list(MailingList.objects.filter(slug__in=slugs))
    missing = sorted(set(slugs) - {mailing_list.slug for mailing_list in found})
    if missing:
        errors.add("lists", _("Unknown list: %(slugs)s") % {"slugs": ", ".join(missing)})
    fields["lists"] = found

    languages = v.string_list(data, "languages", errors, max_items=len(LANGUAGE_CODES))
    if any(code not in LANGUAGE_CODES for code in languages):
        errors.add("languages", _("Must be a list of: %(choices)s.") % {"choices": ", ".join(LANGUAGE_CODES)})
    fields["languages"] = languages

    translations: dict[str, dict[str, str]] = {}
    raw = data.get("translations")
    if raw is not None and not isinstance(raw, dict):
        errors.add("translations", _("Must be an object keyed by language code."))
    elif raw:
        for code, item in raw.items():
            prefix = f"translations.{code}"
            if code not in LANGUAGE_CODES:
                errors.add("translations", _("Unknown language: %(code)s") % {"code": str(code)[:10]})
                continue
            if code == fields["language"]:
                errors.add(prefix, _("The main language needs no translation."))
                continue
            if not isinstance(item, dict):
                errors.add(prefix, _("Must be an object with subject and body_markdown."))
                continue
            item = v.Body(item)
            translations[code] = {
                "subject": v.text(
                    item, "subject", errors, required=True, max_length=200, single_line=True, label=f"{prefix}.subject"
                ),
                "preheader": v.text(
                    item, "preheader", errors, max_length=200, single_line=True, label=f"{prefix}.preheader"
                ),
                "body_markdown": v.text(
                    item, "body_markdown", errors, max_length=MAX_MARKDOWN, label=f"{prefix}.body_markdown"
                ),
            }
            v.refuse_unknown(item, errors, prefix=f"{prefix}.")
    fields["translations"] = translations
    v.refuse_unknown(data, errors)
    errors.raise_if_any()
    return fields


@endpoint(methods=["POST"], permission="campaigns.add_campaign")
def campaigns(request: HttpRequest) -> JsonResponse:
    fields = _validate_campaign(v.json_body(request))
    mailing_lists = fields.pop("lists")
    translations = fields.pop("translations")
    with transaction.atomic():
        campaign = Campaign.objects.create(created_by=request.user, **fields)  # type: ignore[misc]
        campaign.lists.set(mailing_lists)
        for code, item in translations.items():
            CampaignTranslation.objects.create(campaign=campaign, language=code, **item)
        audit.record(actor=request.user, action=audit.CREATED, campaign=campaign, detail="API")
    return JsonResponse({"id": campaign.pk, "status": campaign.status}, status=201)


@endpoint(methods=["GET"], permission="campaigns.view_campaign")
def campaign_detail(request: HttpRequest, pk: int) -> JsonResponse:
    campaign = _campaign_or_404(pk)
    if campaign is None:
        return error(404, _("No such campaign."))
    return JsonResponse(campaign_json(campaign))


@endpoint(methods=["POST"], permission=SEND_PERMISSION)
def campaign_send(request: HttpRequest, pk: int) -> JsonResponse:
    campaign = _campaign_or_404(pk)
    if campaign is None:
        return error(404, _("No such campaign."))
    data = v.json_body(request, allow_empty=True)
    errors = v.Errors()
    at = v.moment(data, "at", errors)
    v.refuse_unknown(data, errors)
    errors.raise_if_any()
    campaign = lifecycle.start(campaign=campaign, actor=request.user, at=at)
    return JsonResponse(campaign_json(campaign), status=202)


def _control_view(step: Callable[..., Campaign]) -> Callable[..., HttpResponse]:
    @endpoint(methods=["POST"], permission=SEND_PERMISSION)
    def view(request: HttpRequest, pk: int) -> JsonResponse:
        campaign = _campaign_or_404(pk)
        if campaign is None:
            return error(404, _("No such campaign."))
        campaign = step(campaign=campaign, actor=request.user)
        return JsonResponse(campaign_json(campaign), status=202)

    return view


campaign_pause = _control_view(lifecycle.pause)
campaign_resume = _control_view(lifecycle.resume)
campaign_cancel = _control_view(lifecycle.cancel)


@endpoint(methods=["POST"], permission="campaigns.change_campaign")
def campaign_submit(request: HttpRequest, pk: int) -> JsonResponse:
    campaign = _campaign_or_404(pk)
    if campaign is None:
        return error(404, _("No such campaign."))
    campaign = lifecycle.submit_for_review(campaign=campaign, actor=request.user)
    return JsonResponse(campaign_json(campaign), status=202)


@endpoint(methods=["POST"], permission=APPROVE_PERMISSION)
def campaign_approve(request: HttpRequest, pk: int) -> JsonResponse:
    campaign = _campaign_or_404(pk)
    if campaign is None:
        return error(404, _("No such campaign."))
    campaign = lifecycle.approve(campaign=campaign, actor=request.user)
    return JsonResponse(campaign_json(campaign), status=202)
