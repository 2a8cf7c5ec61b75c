"""/api/v1/actions: create and read actions, and post signatures from another website.

Authentication, permissions and error shapes are campaigns' API's own
(``campaigns.api.views.endpoint``): a bearer token, 401/403, and
``{"errors": {field: [message, …]}}`` with 400 for bad input.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_slug
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _

from actions import services
from actions.models import Action, Signature, Target, TargetGroup
from campaigns.api import validation as v
from campaigns.api.views import endpoint, error
from subscribers.models import MailingList, normalize_email
from subscribers.text import unsafe_text_in

LANGUAGE_CODES = [code for code, _label in settings.LANGUAGES]
MAX_MARKDOWN = 100_000
MAX_LETTER = 20_000


def _reject_unsafe_text(data: dict[str, Any]) -> None:
    """NUL, lone surrogates and other control characters anywhere in the body: 400, before anything else."""
    problems: dict[str, list[str]] = {}
    for path, problem in unsafe_text_in(data):
        problems.setdefault(path, []).append(problem)
    if problems:
        raise v.Invalid(problems)


def action_json(action: Action) -> dict[str, Any]:
    letters = services.letter_counts(action)
    return {
        "id": action.pk,
        "slug": action.slug,
        "kind": action.kind,
        "title": action.title,
        "status": action.status,
        "goal": action.goal,
        "url": settings.SITE_URL + action.get_absolute_url(),
        "counts": {"signatures": services.signature_count(action), "letters": letters},
    }


def _object(data: dict[str, Any], field: str, errors: v.Errors) -> dict[str, Any]:
    value = data.get(field)
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add(field, _("Must be an object."))
        return {}
    return value


def _validate_action(data: dict[str, Any]) -> dict[str, Any]:
    errors = v.Errors()
    kind = v.choice(data, "kind", errors, choices=Action.Kind.values, required=True)
    slug = v.text(data, "slug", errors, required=True, max_length=100, single_line=True)
    if slug:
        try:
            validate_slug(slug)
        except ValidationError:
            errors.add("slug", _("Use only letters, digits, hyphens and underscores."))
    fields: dict[str, Any] = {
        "kind": kind,
        "slug": slug,
        "title": v.text(data, "title", errors, required=True, max_length=200, single_line=True),
        "body_markdown": v.text(data, "body_markdown", errors, required=True, max_length=MAX_MARKDOWN),
        "goal": v.integer(data, "goal", errors, minimum=1, maximum=100_000_000),
        "status": v.choice(
            data, "status", errors, choices=[Action.Status.DRAFT, Action.Status.OPEN], default=Action.Status.OPEN
        ),
        "share_image_url": v.text(data, "share_image_url", errors, max_length=200, single_line=True),
    }
    if fields["share_image_url"]:
        try:
            URLValidator(schemes=["https", "http"])(fields["share_image_url"])
        except ValidationError:
            errors.add("share_image_url", _("Enter a valid http or https URL."))

    slugs = v.string_list(data, "lists", errors)
    found = list(MailingList.objects.filter(slug__in=slugs))
    missing = sorted(set(slugs) - {mailing_list.slug for mailing_list in found})
    if missing:
        errors.add("lists", _("Unknown list: %(slugs)s") % {"slugs": ", ".join(missing)})
    fields["lists"] = found

    letter = _object(data, "letter", errors)
    targets = _object(data, "targets", errors)
    if kind == Action.Kind.PETITION and (letter or targets.get("by_district") or targets.get("fixed")):
        errors.add("kind", _("Only letters have a letter text and targets; send kind: letter."))
    fields["letter_subject"] = v.text(
        letter, "subject", errors, max_length=200, single_line=True, label="letter.subject"
    )
    fields["letter_body"] = v.text(letter, "body", errors, max_length=MAX_LETTER, label="letter.body")
    policy = v.choice(
        letter, "edit_policy", errors, choices=Action.EditPolicy.values, default=Action.EditPolicy.PARAGRAPH
    )
    fields["edit_policy"] = policy
    limit = v.integer(letter, "edit_limit", errors, minimum=1, maximum=MAX_LETTER)
    fields["edit_limit"] = limit or 1500

    group_name = v.text(targets, "group", errors, max_length=120, single_line=True, label="targets.group")
    fields["target_group"] = None
    if group_name:
        group = (
            TargetGroup.objects.filter(slug=group_name).first()
            or TargetGroup.objects.filter(name__iexact=group_name).first()
        )
        if group is None:
            errors.add("targets.group", _("No target group named %(name)s.") % {"name": group_name})
        fields["target_group"] = group
    fields["by_district"] = v.boolean(targets, "by_district", errors, default=False)
    emails = [normalize_email(email) for email in v.string_list(targets, "fixed", errors, max_items=500)]
    fixed = list(Target.objects.filter(email__in=emails))
    unknown = sorted(set(emails) - {target.email for target in fixed})
    if unknown:
        errors.add("targets.fixed", _("No target with the address: %(emails)s") % {"emails": ", ".join(unknown)[:500]})
    fields["targets"] = fixed
    errors.raise_if_any()
    return fields


@endpoint(methods=["GET", "POST"])
def actions(request: HttpRequest) -> JsonResponse:
    if request.method == "GET":
        if not request.user.has_perm("actions.view_action"):
            return error(403, _("This token's user is not allowed to do that."))
        return JsonResponse([action_json(action) for action in Action.objects.order_by("-created_at")], safe=False)
    if not request.user.has_perm("actions.add_action"):
        return error(403, _("This token's user is not allowed to do that."))
    data = v.json_body(request)
    _reject_unsafe_text(data)
    fields = _validate_action(data)
    try:
        action = services.create_action(actor=request.user, **fields)
    except services.InvalidAction as problem:
        raise v.Invalid(problem.errors) from None
    return JsonResponse(
        {"id": action.pk, "slug": action.slug, "url": settings.SITE_URL + action.get_absolute_url()}, status=201
    )


@endpoint(methods=["GET"], permission="actions.view_action")
def action_detail(request: HttpRequest, slug: str) -> JsonResponse:
    action = Action.objects.filter(slug=slug).first()
    if action is None:
        return error(404, _("No such action."))
    return JsonResponse(action_json(action))


@endpoint(methods=["POST"], permission="actions.add_signature")
def signatures(request: HttpRequest, slug: str) -> JsonResponse:
    action = Action.objects.filter(slug=slug).first()
    if action is None:
        return error(404, _("No such action."))
    data = v.json_body(request)
    _reject_unsafe_text(data)
    errors = v.Errors()
    fields: dict[str, Any] = {
        "email": v.text(data, "email", errors, required=True, max_length=254, single_line=True),
        "name": v.text(data, "name", errors, required=True, max_length=100, single_line=True),
        "postal_code": v.text(data, "postal_code", errors, max_length=20, single_line=True),
        "district_code": v.text(data, "district", errors, max_length=32, single_line=True),
        "message": v.text(data, "message", errors, max_length=MAX_LETTER),
        "opt_in_lists": v.string_list(data, "opt_in_lists", errors),
        "source_detail": v.text(data, "source", errors, max_length=255, single_line=True),
        "page_url": v.text(data, "page_url", errors, max_length=500, single_line=True),
        "language": v.choice(data, "language", errors, choices=LANGUAGE_CODES, default=settings.LANGUAGE_CODE),
    }
    for field in ("letter_subject", "letter_body"):
        if data.get(field) is not None:
            limit = 200 if field == "letter_subject" else MAX_LETTER
            fields[field] = v.text(data, field, errors, max_length=limit, single_line=field == "letter_subject")
    errors.raise_if_any()
    try:
        result = services.sign(action=action, source=Signature.Source.API, **fields)
    except services.InvalidSignature as problem:
        raise v.Invalid(problem.errors) from None
    except services.ActionNotOpen:
        return error(409, _("This action is not open for signatures (it is %(status)s).") % {"status": action.status})
    except services.DistrictChoiceNeeded as need:
        message = (
            _("This postal code lies in several districts: send one of these codes as district.")
            if need.match.outcome == "ambiguous"
            else _("No district is known for this postal code: send the supporter's district code as district.")
        )
        return JsonResponse(
            {
                "detail": _("The request is not valid."),
                "errors": {"district": [message]},
                "choices": [{"code": district.code, "name": district.name} for district in need.choices],
            },
            status=400,
        )
    body = {"id": result.signature.pk, "created": result.created, "letters": len(result.letters)}
    return JsonResponse(body, status=201 if result.created else 200)
