"""/api/v1/actions: create and read actions, and post signatures from another website.

A ninja Router that ``ActionsConfig.ready()`` adds to campaigns' API
(``campaigns.api.app.register_router``): authentication, permissions and
error shapes are that API's own (a bearer token, 401/403, and
``{"errors": {field: [message, …]}}`` with 400 for bad input); campaigns never
imports actions.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Router, Status
from ninja.errors import HttpError
from pydantic import PlainValidator, WithJsonSchema

from actions import services
from actions.api.schemas import (
    ActionCreated,
    ActionInput,
    ActionOut,
    DeliveryInput,
    DistrictChoice,
    SignatureInput,
    SignatureOut,
    signature_fields,
)
from actions.models import Action, Signature, Target, TargetGroup
from actions.translations import localized, set_translations
from campaigns.api.app import Invalid
from campaigns.api.auth import BearerToken, token_user
from campaigns.api.schemas import ERRORS, ErrorOut
from campaigns.staff.roles import can_send
from subscribers.models import MailingList, normalize_email

router = Router(tags=["actions"])


def action_json(action: Action) -> dict[str, Any]:
    return {
        "id": action.pk,
        "slug": action.slug,
        "kind": action.kind,
        "title": action.title,
        "status": action.status,
        "goal": action.goal,
        "url": settings.SITE_URL + action.get_absolute_url(),
        "counts": {"signatures": services.signature_count(action), "letters": services.letter_counts(action)},
        "letter": _letter_json(action),
        "delivery": _delivery_json(action),
    }


def _letter_json(action: Action) -> dict[str, Any] | None:
    if not action.is_letter:
        return None
    return {
        "subject": action.letter_subject,
        "body": action.letter_body,
        "edit_policy": action.edit_policy,
        "edit_limit": action.edit_limit,
    }


def _delivery_json(action: Action) -> dict[str, Any] | None:
    if not action.is_letter:
        return None
    return {
        "mode": action.delivery_mode,
        "digest_hour": action.digest_hour,
        "daily_cap": action.daily_cap,
        "test_mode": action.test_mode,
        "test_email": action.test_email,
    }


def _action(slug: str) -> Action:
    action = Action.objects.filter(slug=slug).first()
    if action is None:
        # Not a ValueError: pydantic lets it through, so an unknown action is a 404
        # before its body is read (the path is resolved first).
        raise HttpError(404, _("No such action."))
    return action


ActionBySlug = Annotated[Any, PlainValidator(_action), WithJsonSchema({"type": "string", "maxLength": 100})]
BY_SLUG = Path(alias="slug")  # the path's name; the view gets the action


def _found(payload: ActionInput) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The lists, target group and fixed targets the payload names: (service arguments, what is unknown)."""
    errors: dict[str, list[str]] = {}
    slugs = payload.lists or []
    lists = list(MailingList.objects.filter(slug__in=slugs))
    missing = sorted(set(slugs) - {mailing_list.slug for mailing_list in lists})
    if missing:
        errors["lists"] = [_("Unknown list: %(slugs)s") % {"slugs": ", ".join(missing)}]
    targets = payload.targets
    group = None
    if targets is not None and targets.group:
        group = (
            TargetGroup.objects.filter(slug=targets.group).first()
            or TargetGroup.objects.filter(name__iexact=targets.group).first()
        )
        if group is None:
            errors["targets.group"] = [_("No target group named %(name)s.") % {"name": targets.group}]
    emails = [normalize_email(email) for email in (targets.fixed or [])] if targets is not None else []
    fixed = list(Target.objects.filter(email__in=emails))
    unknown = sorted(set(emails) - {target.email for target in fixed})
    if unknown:
        message = _("No target with the address: %(emails)s") % {"emails": ", ".join(unknown)[:500]}
        errors["targets.fixed"] = [message]
    return {"lists": lists, "target_group": group, "targets": fixed}, errors


@router.get("/actions", response={200: list[ActionOut], **ERRORS}, auth=BearerToken("actions.view_action"))
def actions(request: HttpRequest) -> Any:
    """Every action, newest first, with its counts."""
    return Status(200, [action_json(action) for action in Action.objects.order_by("-created_at")])


@router.post("/actions", response={201: ActionCreated, **ERRORS}, auth=BearerToken("actions.add_action"))
def create_action(request: HttpRequest, payload: ActionInput) -> Any:
    """Create a petition or a letter to decision-makers.

    The action is open at once (its public page is `url`) unless `status` is `draft`. A letter needs
    `letter.subject`, `letter.body` and someone to write to: `targets.group` (a target group's short name),
    `targets.by_district` (each supporter writes to the targets of their own district, found from their
    postal code), `targets.fixed` (targets' email addresses), or a combination. `delivery` says how letters
    reach the targets (each as it comes or a daily digest, a per-target daily cap, test mode and its address);
    a draft starts in test mode unless `delivery.test_mode` is false.
    """
    found, errors = _found(payload)
    letter, targets, delivery = payload.letter, payload.targets, payload.delivery
    if payload.kind == Action.Kind.PETITION and (
        letter is not None or delivery is not None or (targets is not None and (targets.by_district or targets.fixed))
    ):
        errors.setdefault("kind", []).append(_("Only letters have a letter text and targets; send kind: letter."))
    if delivery is not None and delivery.test_email:
        try:
            validate_email(delivery.test_email)
        except ValidationError:
            errors["delivery.test_email"] = [_("Enter a valid email address.")]
    if errors:
        raise Invalid(errors)
    status = payload.status or Action.Status.OPEN
    if status != Action.Status.DRAFT and not can_send(token_user(request)):
        # An open action is published at once and starts letters to targets: a sender's decision.
        raise HttpError(403, _("Only senders and admins may open an action; send status: draft."))
    try:
        with transaction.atomic():
            action = services.create_action(
                actor=token_user(request),
                kind=payload.kind,
                slug=payload.slug,
                title=payload.title,
                body_markdown=payload.body_markdown,
                goal=payload.goal,
                status=status,
                share_image_url=payload.share_image_url or "",
                letter_subject=(letter.subject if letter else None) or "",
                letter_body=(letter.body if letter else None) or "",
                edit_policy=(letter.edit_policy if letter else None) or Action.EditPolicy.PARAGRAPH,
                edit_limit=(letter.edit_limit if letter else None) or 1500,
                by_district=bool(targets and targets.by_district),
                **_delivery_settings(delivery),
                **found,
            )
            if payload.translations is not None:
                set_translations(action, _translations(payload))
    except services.InvalidAction as problem:
        raise Invalid(problem.errors) from None
    return Status(201, {"id": action.pk, "slug": action.slug, "url": settings.SITE_URL + action.get_absolute_url()})


def _delivery_settings(delivery: DeliveryInput | None) -> dict[str, Any]:
    """The service's delivery arguments that the payload gives (the others keep the service's defaults)."""
    if delivery is None:
        return {}
    given = delivery.model_dump(exclude_unset=True)
    if "mode" in given:
        given["delivery_mode"] = given.pop("mode")
    if given.get("test_email") is None:
        given.pop("test_email", None)
    for name in ("delivery_mode", "digest_hour", "test_mode"):
        if given.get(name) is None:
            given.pop(name, None)  # null: the default
    return given


def _translations(payload: ActionInput) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for language, given in (payload.translations.model_dump() if payload.translations else {}).items():
        if given:
            letter = given.get("letter") or {}
            found[language] = {
                "title": given["title"],
                "body_markdown": given.get("body_markdown") or "",
                "letter_subject": letter.get("subject") or "",
                "letter_body": letter.get("body") or "",
            }
    return found


@router.get(
    "/actions/{slug}", response={200: ActionOut, 404: ErrorOut, **ERRORS}, auth=BearerToken("actions.view_action")
)
def action_detail(request: HttpRequest, action: ActionBySlug = BY_SLUG) -> Any:
    """An action and its counts."""
    return Status(200, action_json(action))


@router.post(
    "/actions/{slug}/signatures",
    response={
        201: SignatureOut,
        200: SignatureOut,
        400: DistrictChoice,
        404: ErrorOut,
        409: ErrorOut,
        **{code: schema for code, schema in ERRORS.items() if code != 400},
    },
    auth=BearerToken("actions.add_signature"),
)
def signatures(request: HttpRequest, *, action: ActionBySlug = BY_SLUG, payload: SignatureInput) -> Any:
    """Sign an action (from another website).

    One signature per address per action: a repeat answers 200 with the first signature's id, changes nothing
    and writes no letter again. For a letter by district, a postal code that matches no district or several
    answers 400 with `errors.district` and the `choices`; send one of their codes as `district`.
    `opt_in_lists` (lists the action offers) is a sign-up with double opt-in: the person gets a confirmation
    email. A draft or closed action answers 409.
    """
    fields = signature_fields(payload)
    fields.setdefault("language", settings.LANGUAGE_CODE)
    try:
        # The letter the supporter signs is the one in their language, when the action has it.
        result = services.sign(action=localized(action, fields["language"]), source=Signature.Source.API, **fields)
    except services.InvalidSignature as problem:
        raise Invalid(problem.errors) from None
    except services.ActionNotOpen:
        message = _("This action is not open for signatures (it is %(status)s).") % {"status": action.status}
        return Status(409, {"detail": message})
    except services.DistrictChoiceNeeded as need:
        message = (
            _("This postal code lies in several districts: send one of these codes as district.")
            if need.match.outcome == "ambiguous"
            else _("No district is known for this postal code: send the supporter's district code as district.")
        )
        choices = [{"code": district.code, "name": district.name} for district in need.choices]
        return Status(
            400, {"detail": _("The request is not valid."), "errors": {"district": [message]}, "choices": choices}
        )
    body = {"id": result.signature.pk, "created": result.created, "letters": len(result.letters)}
    return Status(201 if result.created else 200, body)
