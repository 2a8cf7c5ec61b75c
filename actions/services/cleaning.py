"""A signature's fields, checked: every problem at once, by field, or the cleaned values."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _

from actions.models import Action
from actions.postal import InvalidPostalCode, normalize_postal_code
from subscribers.models import MailingList
from subscribers.services.signup import InvalidSignup, clean_email, clean_name
from subscribers.text import text_problem

# A petition comment is a sentence or two, not an essay.
COMMENT_LIMIT = 1000
CITY_LIMIT = 100


class InvalidSignature(ValueError):
    """Input no form should have let through: every problem, by field."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{key}: {' '.join(value)}" for key, value in errors.items()))
        self.errors = errors


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
class Cleaned:
    email: str
    name: str
    postal_code: str
    message: str
    letter_subject: str
    letter_body: str
    lists: list[MailingList]
    language: str
    city: str = ""


def _clean_person(
    *, action: Action, email: str, name: str, postal_code: str, errors: dict[str, list[str]]
) -> tuple[str, str, str]:
    """(email, name, postal code), cleaned; problems go to ``errors``."""
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
    if not postal_code.strip():
        if action.is_letter:
            _add(errors, "postal_code", _("Your postal code tells the decision-makers you live in their district."))
        return email, name, ""
    try:
        postal_code = normalize_postal_code(postal_code)
    except InvalidPostalCode as problem:
        _add(errors, "postal_code", problem.message)
    return email, name, postal_code


def _edited_letter(
    action: Action, letter_subject: str | None, letter_body: str | None, errors: dict[str, list[str]]
) -> tuple[str, str]:
    """The letter's (subject, body) as this supporter sends it: their own edit only where the action allows."""
    subject, body = action.letter_subject, action.letter_body
    if action.edit_policy == Action.EditPolicy.FULL:
        if letter_subject is not None:
            subject = _clean_text(letter_subject, "letter_subject", errors, limit=200, single_line=True)
            if not subject and "letter_subject" not in errors:
                _add(errors, "letter_subject", _("The letter needs a subject."))
        if letter_body is not None:
            body = _clean_text(letter_body, "letter_body", errors, limit=action.edit_limit)
            if not body and "letter_body" not in errors:
                _add(errors, "letter_body", _("The letter needs a text."))
    elif (letter_subject is not None and letter_subject.strip() != action.letter_subject.strip()) or (
        letter_body is not None and letter_body.strip() != action.letter_body.strip()
    ):
        _add(errors, "letter_body", _("This letter is sent as written; add your own words in the message."))
    return subject, body


def _message(action: Action, message: str, errors: dict[str, list[str]]) -> str:
    if not action.is_letter:
        return _clean_text(message, "message", errors, limit=COMMENT_LIMIT)
    if action.edit_policy == Action.EditPolicy.FIXED and message.strip():
        _add(errors, "message", _("This letter is sent as written, without a personal message."))
    return _clean_text(message, "message", errors, limit=action.edit_limit)


def _offered_lists(
    action: Action, opt_in_lists: Iterable[MailingList | str], errors: dict[str, list[str]]
) -> list[MailingList]:
    wanted = [item.slug if isinstance(item, MailingList) else str(item) for item in opt_in_lists]
    if not wanted:
        return []  # most signatures tick no list: no query for the lists offered
    offered = {mailing_list.slug: mailing_list for mailing_list in action.lists.all()}
    unknown = sorted({slug for slug in wanted if slug not in offered})
    if unknown:
        _add(errors, "opt_in_lists", _("Not offered on this action: %(slugs)s.") % {"slugs": ", ".join(unknown)[:200]})
        return []
    return [offered[slug] for slug in dict.fromkeys(wanted)]


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
    city: str = "",
) -> Cleaned:
    """Every problem with a signature's fields at once, or the cleaned values."""
    errors: dict[str, list[str]] = {}
    email, name, postal_code = _clean_person(
        action=action, email=email, name=name, postal_code=postal_code, errors=errors
    )
    subject, body = _edited_letter(action, letter_subject, letter_body, errors) if action.is_letter else ("", "")
    message = _message(action, message, errors)
    city = _clean_text(city, "city", errors, limit=CITY_LIMIT, single_line=True)
    lists = _offered_lists(action, opt_in_lists, errors)
    if errors:
        raise InvalidSignature(errors)
    codes = [code for code, _label in settings.LANGUAGES]
    return Cleaned(
        email=email,
        name=name,
        postal_code=postal_code,
        message=message,
        letter_subject=subject,
        letter_body=body,
        lists=lists,
        language=language if language in codes else settings.LANGUAGE_CODE,
        city=city,
    )
