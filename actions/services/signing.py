"""One person signs one action, once; letters are written and queued to go once the signature commits."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial

import redis
from django.core.cache import cache
from django.db import connection, transaction
from django.utils.translation import gettext as _

from actions.districts import DistrictMatch, allowed_choice, find_district
from actions.models import Action, District, Letter, Signature, Target
from actions.sending.messages import sender_address
from actions.services.cleaning import Cleaned, InvalidSignature, clean_signature
from actions.services.records import count_cache_key, insert_once
from actions.signals import action_signed
from actions.tasks import lease_for_queueing, queue_letters
from config import rows
from subscribers import consent_text
from subscribers.models import Consent, MailingList, Subscriber, Subscription, normalize_email
from subscribers.services.signup import SignupResult, subscribe
from subscribers.text import text_problem


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
    """Who this supporter's letter goes to: the fixed targets, plus the group's (of their district).

    One query, read with ``config.rows`` (the ORM's two took longer to build
    than to answer, on every letter signed: bench/action_bench.py --kind letter).
    """
    quote = connection.ops.quote_name
    fixed = Action._meta.get_field("targets")
    member = Target._meta.get_field("groups")
    chosen = [f"t.id IN ({_linked(fixed.m2m_db_table(), fixed.m2m_reverse_name(), fixed.m2m_column_name())})"]
    params: list[object] = [True, action.pk]
    if (action.target_group_id or action.by_district) and (district is not None or not action.by_district):
        pool = []
        if action.target_group_id:
            pool.append(
                f"t.id IN ({_linked(member.m2m_db_table(), member.m2m_column_name(), member.m2m_reverse_name())})"
            )
            params.append(action.target_group_id)
        if action.by_district and district is not None:
            pool.append("t.district_id = %s")
            params.append(district.pk)
        chosen.append("(" + " AND ".join(pool) + ")")
    sql = (
        f"SELECT {rows.columns(Target, 't')} FROM {quote(Target._meta.db_table)} t"  # noqa: S608
        f" WHERE t.active = %s AND ({' OR '.join(chosen)})"
    )
    return sorted(rows.instances(Target, sql, params), key=lambda target: (target.name, target.pk))


def _linked(table: str, wanted: str, by: str) -> str:
    """The ids in column ``wanted`` of a many-to-many table whose ``by`` is the next parameter."""
    quote = connection.ops.quote_name
    return f"SELECT {quote(wanted)} FROM {quote(table)} WHERE {quote(by)} = %s"  # noqa: S608


def _opt_in(
    *,
    cleaned: Cleaned,
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


def _link_subscriber(signature: Signature, asked: SignupResult | None) -> SignupResult | None:
    """The signature points at the subscriber (and consent) its opt-in made or found."""
    if asked is not None and asked.subscriber is not None:
        signature.consent = asked.consent
        signature.subscriber = asked.subscriber
        signature.save(update_fields=["consent", "subscriber"])
    return asked


def sign(
    *,
    action: Action,
    email: str,
    name: str,
    postal_code: str = "",
    district_code: str = "",
    message: str = "",
    city: str = "",
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
    campaign_id: int | None = None,
) -> SignResult:
    """``email`` signs ``action``, once.

    A repeat by the same address changes nothing and writes no letter (``created=False``); ticked lists are
    still honoured, as a new sign-up request. For a letter by district, a postal code that matches no district
    or several raises DistrictChoiceNeeded, and nothing is stored until ``district_code`` names a choice.
    Letters are written ``pending`` (``by_hand`` for targets not to be emailed) and queued for actions/sending/
    once this commits. A draft in test mode signs too (letters to the test address).
    Raises InvalidSignature (each problem by field), ActionNotOpen, DistrictChoiceNeeded.
    """
    _check_source(source, source_detail)
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
        city=city,
    )
    if not action.is_open and not takes_test_signatures(action):
        raise ActionNotOpen(action)
    opt_in = partial(
        _opt_in,
        cleaned=cleaned,
        action=action,
        source=source,
        page_url=page_url,
        ip=ip,
        user_agent=user_agent,
        wording_version=wording_version,
        source_detail=source_detail,
    )
    with transaction.atomic():
        # The signature, its letters, its opt-in and action_signed's webhook rows commit together.
        try:
            district = supporter_district(action=action, postal_code=cleaned.postal_code, district_code=district_code)
        except (DistrictChoiceNeeded, InvalidSignature):
            # Someone who already signed is told so, not asked about their district again.
            earlier = Signature.objects.filter(action=action, email=signature_email(cleaned)).first()
            if earlier is None:
                raise
            return SignResult(signature=earlier, created=False, opt_in=opt_in())
        signature = _new_signature(
            action, cleaned, district, source=source, source_detail=source_detail or page_url, campaign_id=campaign_id
        )
        if signature is None:
            # This address signed before (or a double click's other half just did): nothing is changed or sent.
            earlier = Signature.objects.get(action=action, email=signature_email(cleaned))
            return SignResult(signature=earlier, created=False, opt_in=opt_in())
        letters = _write_letters(action, signature, district) if action.is_letter else []
        asked = _link_subscriber(signature, opt_in())
        action_signed.send(sender=Signature, signature=signature)
    with contextlib.suppress(redis.RedisError):  # committed: a cache outage must not make it an error page
        cache.delete(count_cache_key(action))
    return SignResult(signature=signature, created=True, letters=letters, opt_in=asked)


def signature_email(cleaned: Cleaned) -> str:
    return normalize_email(cleaned.email)


def _check_source(source: str, source_detail: str) -> None:
    if source not in Signature.Source.values:
        raise InvalidSignature({"source": [f"unknown source {source!r}"]})
    problem = text_problem(source_detail, single_line=True)
    if problem:
        raise InvalidSignature({"source": [problem]})


def _new_signature(
    action: Action,
    cleaned: Cleaned,
    district: District | None,
    *,
    source: str,
    source_detail: str,
    campaign_id: int | None = None,
) -> Signature | None:
    """The signature, or None when this address has signed already."""
    signature = Signature(
        action=action,
        email=signature_email(cleaned),
        name=cleaned.name,
        postal_code=cleaned.postal_code,
        city=cleaned.city,
        district=district,
        message=cleaned.message,
        letter_subject=cleaned.letter_subject,
        letter_body=cleaned.letter_body,
        language=cleaned.language,
        source=source,
        source_detail=source_detail[:255],
        campaign_id=campaign_id,
    )
    return signature if insert_once(signature) else None


def takes_test_signatures(action: Action) -> bool:
    """A draft in test mode takes signatures (staff trying the page): its letters go to the test address."""
    return action.test_mode and action.status == Action.Status.DRAFT


def test_address(action: Action) -> str:
    """Where test-mode letters go: the action's test address, its creator's, or the organisation's own."""
    creator = action.created_by
    return action.test_email or (creator.email if creator is not None else "") or sender_address()


def _write_letters(action: Action, signature: Signature, district: District | None) -> list[Letter]:
    """One letter per target, queued to go once the signature commits (or kept to deliver by hand)."""
    test_to = test_address(action) if action.test_mode else ""
    unwritten = [
        Letter(
            action=action,
            signature=signature,
            target=target,
            status=Letter.Status.BY_HAND if target.by_hand else Letter.Status.PENDING,
            test_to=test_to,
            created_at=signature.created_at,
        )
        for target in letter_targets(action, district)
    ]
    lease_for_queueing(action, unwritten)  # in the INSERT itself: no UPDATE after it
    letters = Letter.objects.bulk_create(unwritten)
    queue_letters(action, letters)
    return letters


def supporter_district(*, action: Action, postal_code: str, district_code: str) -> District | None:
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
