"""Every change to actions, signatures and letters goes through these functions.

- ``change_status``: an action's draft → open → closed (→ open again)
- ``create_action``: what the admin and the API create
- ``sign``: one person signs one action, once; letters are written, not sent
- ``erase_signatures`` / ``signatures_of``: GDPR erasure and access export

Views and the API turn the exceptions here into form errors and 4xx answers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from actions.districts import DistrictMatch, allowed_choice, find_district
from actions.models import Action, District, Letter, Signature, Target, TargetGroup
from actions.postal import InvalidPostalCode, normalize_postal_code
from subscribers import consent_text
from subscribers.models import Consent, MailingList, Subscriber, Subscription, normalize_email
from subscribers.services.signup import InvalidSignup, SignupResult, clean_email, clean_name, subscribe
from subscribers.text import text_problem

# A petition comment is a sentence or two, not an essay.
COMMENT_LIMIT = 1000
S = Action.Status


class InvalidSignature(ValueError):
    """Input no form should have let through: every problem, by field."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{key}: {' '.join(value)}" for key, value in errors.items()))
        self.errors = errors


class ActionNotOpen(Exception):
    """The action is a draft or closed: it takes no signatures."""

    def __init__(self, action: Action) -> None:
        super().__init__(f"action {action.slug} is {action.status}")
        self.action = action


class DistrictChoiceNeeded(Exception):
    """The postal code matches no district, or several: the supporter must choose; nothing was stored."""

    def __init__(self, match: DistrictMatch, postal_code: str) -> None:
        super().__init__(f"{postal_code}: {match.outcome}")
        self.match = match
        self.postal_code = postal_code

    @property
    def choices(self) -> list[District]:
        return self.match.choices


class InvalidAction(InvalidSignature):
    """An action that cannot be created as asked: every problem, by field."""


class TransitionNotAllowed(Exception):
    """The action's status does not allow that step."""


# --- status --------------------------------------------------------------------------------

ALLOWED: dict[str, set[str]] = {
    S.DRAFT: {S.OPEN},
    S.OPEN: {S.CLOSED},
    S.CLOSED: {S.OPEN},
}


def change_status(*, action: Action, to: str) -> Action:
    """Move ``action`` to ``to`` under a row lock; TransitionNotAllowed when its status does not allow it."""
    with transaction.atomic():
        locked = Action.objects.select_for_update().get(pk=action.pk)
        if to not in ALLOWED.get(locked.status, set()):
            raise TransitionNotAllowed(
                _("An action that is %(status)s cannot become %(to)s.")
                % {"status": locked.get_status_display(), "to": S(to).label if to in S.values else to}
            )
        now = timezone.now()
        locked.status = to
        fields = ["status", "updated_at"]
        if to == S.OPEN:
            locked.opened_at = locked.opened_at or now
            locked.closed_at = None
            fields += ["opened_at", "closed_at"]
        elif to == S.CLOSED:
            locked.closed_at = now
            fields.append("closed_at")
        locked.save(update_fields=fields)
    action.refresh_from_db()
    return action


# --- creating ------------------------------------------------------------------------------


def check_letter_setup(
    *,
    kind: str,
    letter_subject: str,
    letter_body: str,
    target_group: TargetGroup | None,
    by_district: bool,
    has_fixed_targets: bool,
) -> dict[str, list[str]]:
    """What a letter action lacks before anyone can sign it (empty for petitions)."""
    errors: dict[str, list[str]] = {}
    if kind != Action.Kind.LETTER:
        return errors
    if not letter_subject.strip():
        errors["letter.subject"] = [_("A letter needs a subject.")]
    if not letter_body.strip():
        errors["letter.body"] = [_("A letter needs a text.")]
    if target_group is None and not by_district and not has_fixed_targets:
        errors["targets"] = [_("Say who the letter goes to: a group, by district, or fixed targets.")]
    return errors


def create_action(
    *,
    kind: str,
    slug: str,
    title: str,
    body_markdown: str = "",
    goal: int | None = None,
    lists: Sequence[MailingList] = (),
    letter_subject: str = "",
    letter_body: str = "",
    edit_policy: str = Action.EditPolicy.PARAGRAPH,
    edit_limit: int = 1500,
    target_group: TargetGroup | None = None,
    by_district: bool = False,
    targets: Sequence[Target] = (),
    status: str = S.OPEN,
    share_image_url: str = "",
    actor: Any = None,
) -> Action:
    """A new action, open at once unless ``status`` is draft; InvalidAction lists what is wrong."""
    errors = check_letter_setup(
        kind=kind,
        letter_subject=letter_subject,
        letter_body=letter_body,
        target_group=target_group,
        by_district=by_district,
        has_fixed_targets=bool(targets),
    )
    if Action.objects.filter(slug=slug).exists():
        errors.setdefault("slug", []).append(_("An action with this address already exists."))
    if errors:
        raise InvalidAction(errors)
    now = timezone.now()
    try:
        with transaction.atomic():
            action = Action.objects.create(
                kind=kind,
                slug=slug,
                title=title,
                body_markdown=body_markdown,
                goal=goal,
                letter_subject=letter_subject,
                letter_body=letter_body,
                edit_policy=edit_policy,
                edit_limit=edit_limit,
                target_group=target_group,
                by_district=by_district,
                status=status,
                opened_at=now if status == S.OPEN else None,
                share_image_url=share_image_url,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            action.lists.set(lists)
            action.targets.set(targets)
    except IntegrityError:
        # Another request took the slug between the check and the insert.
        raise InvalidAction({"slug": [_("An action with this address already exists.")]}) from None
    return action


# --- signing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignResult:
    signature: Signature
    created: bool  # False: this address had already signed; nothing was changed or sent
    letters: list[Letter] = field(default_factory=list)
    # The opt-in sign-up, when lists were ticked and something was asked of subscribers.
    opt_in: SignupResult | None = None


_CONSENT_SOURCE = {
    Signature.Source.FORM: Consent.Source.FORM,
    Signature.Source.EMBED: Consent.Source.EMBED,
    Signature.Source.API: Consent.Source.API,
    Signature.Source.LINK: Consent.Source.FORM,
}


def letter_targets(action: Action, district: District | None) -> list[Target]:
    """Who this supporter's letter goes to: the fixed targets, plus the group's (of their district)."""
    chosen: dict[int, Target] = {target.pk: target for target in action.targets.filter(active=True)}
    if action.target_group_id or action.by_district:
        pool = Target.objects.filter(active=True)
        if action.target_group_id:
            pool = pool.filter(groups=action.target_group_id)
        if action.by_district:
            pool = pool.filter(district=district) if district is not None else pool.none()
        for target in pool:
            chosen.setdefault(target.pk, target)
    return sorted(chosen.values(), key=lambda target: (target.name, target.pk))


def _add(errors: dict[str, list[str]], key: str, message: str) -> None:
    errors.setdefault(key, []).append(str(message))


def _clean_text(value: str, key: str, errors: dict[str, list[str]], *, limit: int, single_line: bool = False) -> str:
    problem = text_problem(value, single_line=single_line)
    if problem:
        _add(errors, key, problem)
        return ""
    value = value.strip()
    if len(value) > limit:
        _add(
            errors,
            key,
            _("Please shorten this to %(limit)d characters (it has %(count)d).")
            % {"limit": limit, "count": len(value)},
        )
        return ""
    return value


@dataclass(frozen=True)
class _Cleaned:
    email: str
    name: str
    postal_code: str
    message: str
    letter_subject: str
    letter_body: str
    lists: list[MailingList]
    language: str


def clean_signature(
    *,
    action: Action,
    email: str,
    name: str,
    postal_code: str,
    message: str,
    letter_subject: str | None,
    letter_body: str | None,
    opt_in_lists: Iterable[MailingList | str],
    language: str,
) -> _Cleaned:
    """Every problem with a signature's fields at once, or the cleaned values."""
    errors: dict[str, list[str]] = {}
    try:
        email = clean_email(email)
    except InvalidSignup as problem:
        _add(errors, "email", problem.message)
    if not name.strip():
        _add(errors, "name", _("Please write your name."))
    else:
        try:
            name = clean_name(name)
        except InvalidSignup as problem:
            _add(errors, "name", problem.message)
    if postal_code.strip():
        try:
            postal_code = normalize_postal_code(postal_code)
        except InvalidPostalCode as problem:
            _add(errors, "postal_code", problem.message)
    elif action.is_letter:
        _add(errors, "postal_code", _("Your postal code tells the decision-makers you live in their district."))
    else:
        postal_code = ""

    subject, body = "", ""
    if action.is_letter:
        limit = action.edit_limit
        subject, body = action.letter_subject, action.letter_body
        if action.edit_policy == Action.EditPolicy.FULL:
            if letter_subject is not None:
                subject = _clean_text(letter_subject, "letter_subject", errors, limit=200, single_line=True)
                if not subject and "letter_subject" not in errors:
                    _add(errors, "letter_subject", _("The letter needs a subject."))
            if letter_body is not None:
                body = _clean_text(letter_body, "letter_body", errors, limit=limit)
                if not body and "letter_body" not in errors:
                    _add(errors, "letter_body", _("The letter needs a text."))
        elif (letter_subject is not None and letter_subject.strip() != action.letter_subject.strip()) or (
            letter_body is not None and letter_body.strip() != action.letter_body.strip()
        ):
            _add(errors, "letter_body", _("This letter is sent as written; add your own words in the message."))
        if action.edit_policy == Action.EditPolicy.FIXED and message.strip():
            _add(errors, "message", _("This letter is sent as written, without a personal message."))
        message = _clean_text(message, "message", errors, limit=limit)
    else:
        message = _clean_text(message, "message", errors, limit=COMMENT_LIMIT)

    offered = {mailing_list.slug: mailing_list for mailing_list in action.lists.all()}
    wanted = [item.slug if isinstance(item, MailingList) else str(item) for item in opt_in_lists]
    unknown = sorted({slug for slug in wanted if slug not in offered})
    if unknown:
        _add(errors, "opt_in_lists", _("Not offered on this action: %(slugs)s.") % {"slugs": ", ".join(unknown)[:200]})
    codes = [code for code, _label in settings.LANGUAGES]
    if errors:
        raise InvalidSignature(errors)
    return _Cleaned(
        email=email,
        name=name,
        postal_code=postal_code,
        message=message,
        letter_subject=subject,
        letter_body=body,
        lists=[offered[slug] for slug in dict.fromkeys(wanted)],
        language=language if language in codes else settings.LANGUAGE_CODE,
    )


def _opt_in(
    *,
    cleaned: _Cleaned,
    action: Action,
    source: str,
    page_url: str,
    ip: str | None,
    user_agent: str,
    wording_version: str | None,
    source_detail: str = "",
) -> SignupResult | None:
    """Ticked lists: a sign-up exactly as the sign-up page makes one (double opt-in, consent evidence)."""
    if not cleaned.lists:
        return None
    existing = Subscriber.objects.filter(email=cleaned.email).first()
    if existing is not None and existing.status == Subscriber.Status.CONFIRMED:
        active = set(
            existing.subscriptions.filter(status=Subscription.Status.ACTIVE).values_list("mailing_list_id", flat=True)
        )
        if all(mailing_list.pk in active for mailing_list in cleaned.lists):
            return None  # nothing to ask: no consent row, no confirmation email
    return subscribe(
        email=cleaned.email,
        name=cleaned.name,
        language=cleaned.language,
        lists=cleaned.lists,
        source=_CONSENT_SOURCE.get(Signature.Source(source), Consent.Source.FORM),
        basis=Consent.Basis.EXPRESS,
        double_opt_in=True,
        wording_version=wording_version or consent_text.CURRENT_VERSION,
        wording_language=cleaned.language,
        page_url=page_url,
        ip=ip,
        user_agent=user_agent,
        detail=(f"action: {action.slug}; {source_detail}" if source_detail else f"action: {action.slug}")[:255],
    )


def sign(
    *,
    action: Action,
    email: str,
    name: str,
    postal_code: str = "",
    district_code: str = "",
    message: str = "",
    letter_subject: str | None = None,
    letter_body: str | None = None,
    opt_in_lists: Iterable[MailingList | str] = (),
    source: str = Signature.Source.FORM,
    source_detail: str = "",
    language: str = "en",
    page_url: str = "",
    ip: str | None = None,
    user_agent: str = "",
    wording_version: str | None = None,
) -> SignResult:
    """``email`` signs ``action``, once.

    A repeat by the same address changes nothing and writes no letter (the
    result says ``created=False``); ticked lists are still honoured, as a
    new sign-up request. For a letter that goes by district, a postal code
    that matches no district or several raises DistrictChoiceNeeded, and
    nothing is stored until the call names one of the choices in
    ``district_code``. Letters are written ``pending`` (or ``by_hand`` for
    targets not to be emailed): nothing is sent here.

    Raises InvalidSignature (every problem by field), ActionNotOpen,
    DistrictChoiceNeeded.
    """
    if source not in Signature.Source.values:
        raise InvalidSignature({"source": [f"unknown source {source!r}"]})
    problem = text_problem(source_detail, single_line=True)
    if problem:
        raise InvalidSignature({"source": [problem]})
    cleaned = clean_signature(
        action=action,
        email=email,
        name=name,
        postal_code=postal_code,
        message=message,
        letter_subject=letter_subject,
        letter_body=letter_body,
        opt_in_lists=opt_in_lists,
        language=language,
    )
    if not action.is_open:
        raise ActionNotOpen(action)
    opt_in_args = {
        "cleaned": cleaned,
        "action": action,
        "source": source,
        "page_url": page_url,
        "ip": ip,
        "user_agent": user_agent,
        "wording_version": wording_version,
        "source_detail": source_detail,
    }

    earlier = Signature.objects.filter(action=action, email=cleaned.email).first()
    if earlier is not None:
        with transaction.atomic():
            return SignResult(signature=earlier, created=False, opt_in=_opt_in(**opt_in_args))  # type: ignore[arg-type]

    district = _district(action=action, postal_code=cleaned.postal_code, district_code=district_code)
    with transaction.atomic():
        try:
            with transaction.atomic():
                signature = Signature.objects.create(
                    action=action,
                    email=cleaned.email,
                    name=cleaned.name,
                    postal_code=cleaned.postal_code,
                    district=district,
                    message=cleaned.message,
                    letter_subject=cleaned.letter_subject,
                    letter_body=cleaned.letter_body,
                    language=cleaned.language,
                    source=source,
                    source_detail=(source_detail or page_url)[:255],
                    subscriber=Subscriber.objects.filter(email=cleaned.email).first(),
                )
        except IntegrityError:
            # Two submissions of one address raced (a double click): the other one signed.
            earlier = Signature.objects.get(action=action, email=cleaned.email)
            return SignResult(signature=earlier, created=False, opt_in=_opt_in(**opt_in_args))  # type: ignore[arg-type]
        letters: list[Letter] = []
        if action.is_letter:
            letters = Letter.objects.bulk_create(
                [
                    Letter(
                        action=action,
                        signature=signature,
                        target=target,
                        status=Letter.Status.BY_HAND if target.do_not_email else Letter.Status.PENDING,
                        created_at=signature.created_at,
                    )
                    for target in letter_targets(action, district)
                ]
            )
        opt_in = _opt_in(**opt_in_args)  # type: ignore[arg-type]
        if opt_in is not None and opt_in.subscriber is not None:
            signature.consent = opt_in.consent
            signature.subscriber = opt_in.subscriber
            signature.save(update_fields=["consent", "subscriber"])
    # The signature is committed: a cache outage must not turn it into an error page.
    with contextlib.suppress(redis.RedisError):
        cache.delete(count_cache_key(action))
    return SignResult(signature=signature, created=True, letters=letters, opt_in=opt_in)


def _district(*, action: Action, postal_code: str, district_code: str) -> District | None:
    """The supporter's district; DistrictChoiceNeeded when a letter by district cannot tell."""
    if not postal_code:
        return None
    match = find_district(postal_code)
    if district_code:
        chosen = allowed_choice(match, postal_code, district_code)
        if chosen is None:
            raise InvalidSignature({"district": [_("Choose one of the districts offered for your postal code.")]})
        return chosen
    if match.found:
        return match.district
    if action.is_letter and action.by_district:
        raise DistrictChoiceNeeded(match, postal_code)
    # A petition (or a letter to fixed targets) does not need the district:
    # leave it unknown rather than ask.
    return None


# --- counts --------------------------------------------------------------------------------


def count_cache_key(action: Action) -> str:
    return f"actions:count:{action.pk}"


def signature_count(action: Action, *, cached: bool = False) -> int:
    """How many signed; ``cached`` (for public counters) may be up to a minute old."""
    if not cached:
        return action.signatures.count()
    key = count_cache_key(action)
    try:
        value = cache.get(key)
    except redis.RedisError:  # a cache outage must not take the counter down
        value = None
    if value is None:
        value = action.signatures.count()
        with contextlib.suppress(redis.RedisError):  # the count is right, only not cached
            cache.set(key, value, timeout=60)
    return int(value)


def letter_counts(action: Action) -> dict[str, int]:
    """sent, failed, pending (waiting or being sent), unknown, by_hand."""
    L = Letter.Status
    counts = Letter.objects.filter(action=action).aggregate(
        sent=Count("id", filter=Q(status=L.SENT)),
        failed=Count("id", filter=Q(status=L.FAILED)),
        pending=Count("id", filter=Q(status__in=[L.PENDING, L.SENDING])),
        unknown=Count("id", filter=Q(status=L.UNKNOWN)),
        by_hand=Count("id", filter=Q(status=L.BY_HAND)),
    )
    return {key: int(value or 0) for key, value in counts.items()}


# --- GDPR ----------------------------------------------------------------------------------


def _signatures_by(email: str, subscriber_id: int | None) -> QuerySet[Signature]:
    query = Q(email=normalize_email(email))
    if subscriber_id is not None:
        query |= Q(subscriber_id=subscriber_id)
    return Signature.objects.filter(query)


def signatures_of(email: str, *, subscriber_id: int | None = None) -> list[dict[str, Any]]:
    """Every signature by ``email`` (or linked to the subscriber) with its letters, JSON-ready (the access export)."""
    rows = []
    for signature in (
        _signatures_by(email, subscriber_id)
        .select_related("action", "district")
        .prefetch_related("letters__target")
        .order_by("created_at", "pk")
    ):
        rows.append(
            {
                "action": signature.action.slug,
                "action_title": signature.action.title,
                "kind": signature.action.kind,
                "signed_at": signature.created_at.isoformat(),
                "email": signature.email,
                "name": signature.name,
                "postal_code": signature.postal_code,
                "district": signature.district.code if signature.district else None,
                "message": signature.message,
                "letter_subject": signature.letter_subject,
                "letter_body": signature.letter_body,
                "language": signature.language,
                "source": signature.source,
                "letters": [
                    {
                        "target": letter.target.name,
                        "target_email": letter.target.email,
                        "status": letter.status,
                        "sent_at": letter.sent_at.isoformat() if letter.sent_at else None,
                    }
                    for letter in signature.letters.all()
                ],
            }
        )
    return rows


def erase_signatures(*, email: str, replacement_email: str, subscriber_id: int | None = None) -> int:
    """Drop the person from their signatures and letters; the signatures still count.

    Unsent letters are skipped: their text named the person, and once
    erased there is nothing left to send.
    """
    now = timezone.now()
    with transaction.atomic():
        ids = list(_signatures_by(email, subscriber_id).select_for_update().values_list("pk", flat=True))
        if not ids:
            return 0
        Letter.objects.filter(signature_id__in=ids, status__in=[Letter.Status.PENDING, Letter.Status.BY_HAND]).update(
            status=Letter.Status.SKIPPED, error="erased (GDPR)"
        )
        Signature.objects.filter(pk__in=ids).update(
            email=replacement_email,
            name="",
            postal_code="",
            message="",
            letter_subject="",
            letter_body="",
            consent=None,
            erased_at=now,
        )
    return len(ids)
