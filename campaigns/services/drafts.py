"""Creating and changing a campaign before it is sent: one set of rules for every way in.

The API's schemas and the admin's form check each field on its own (type,
length, the text rules of ``subscribers/text.py``); ``problems`` checks what
depends on several fields, and ``create_campaign`` / ``change_campaign`` refuse
what it finds, so a rule added here holds for the admin and the API alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.translation import gettext as _

from campaigns import lifecycle
from campaigns.models import ABTest, Campaign, CampaignTranslation
from campaigns.staff import audit
from subscribers.models import MailingList
from subscribers.text import address_problem, text_problem

S = Campaign.Status
# Status, schedule, approval and authorship change only through campaigns.lifecycle (and creation).
_NOT_EDITED = {"id", "status", "status_reason", "scheduled_at", "started_at", "finished_at", "approved_by"}
_NOT_EDITED |= {"created_by", "created_at", "attribution_code"}
_NOT_EDITED |= {"frequency_capped"}  # written by the audience snapshot
EDITABLE = [field.name for field in Campaign._meta.concrete_fields if field.name not in _NOT_EDITED]
MAX_WAIT_MINUTES = 7 * 24 * 60
KEEP: Any = object()  # change_campaign: leave the A/B test as it is


class InvalidCampaign(Exception):
    """Every problem found, by field: ``{field: [message, …]}``."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items()))
        self.errors = errors


def problems(
    values: Mapping[str, Any], *, translations: Iterable[str] = (), ab_test: Mapping[str, Any] | None = None
) -> dict[str, list[str]]:
    """What is wrong with these campaign fields taken together (``translations``: their language codes)."""
    errors: dict[str, list[str]] = {}
    for check in (_audience_problems, _appeal_problems, _address_problems):
        for field, message in check(values):
            errors.setdefault(field, []).append(message)
    if ab_test is not None:
        for field, message in ab_test_problems(ab_test):
            errors.setdefault(f"ab_test.{field}", []).append(message)
    elif not str(values.get("subject") or "").strip():
        errors.setdefault("subject", []).append(_("This field is required."))
    for code in translations:
        if code == values.get("language"):
            errors.setdefault(f"translations.{code}", []).append(_("The main language needs no translation."))
    return errors


def _audience_problems(values: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    after, before = values.get("signed_up_after"), values.get("signed_up_before")
    if after and before and after >= before:
        yield "signed_up_before", _("Must be later than 'signed up after'.")


def _appeal_problems(values: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    if values.get("kind") == Campaign.Kind.APPEAL:
        return
    if values.get("exclude_donors_days") is not None:
        yield "exclude_donors_days", _("Only donation appeals can leave out recent donors.")
    if values.get("donor_rule") not in (None, "", "all"):
        yield "donor_rule", _("Only donation appeals can choose among donors.")


def _address_problems(values: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    if values.get("call_to_action_url"):
        try:
            URLValidator(schemes=["http", "https"])(values["call_to_action_url"])
        except ValidationError:
            yield "call_to_action_url", _("Enter a valid http or https URL.")
    for field in ("from_email", "reply_to"):
        # Replies to an IP literal go to a host of the writer's choosing, past every DNS and DMARC check.
        problem = address_problem(str(values[field]).strip().lower()) if values.get(field) else None
        if problem:
            yield field, problem


def ab_test_problems(values: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """What is wrong with an A/B test's settings, by its field (subjects, sample_percent, wait_minutes, metric)."""
    subjects = [str(subject).strip() for subject in values.get("subjects") or []]
    if not 2 <= len(subjects) <= 4:
        yield "subjects", _("Test two to four subjects.")
    elif not all(subjects):
        yield "subjects", _("A test subject may not be blank.")
    elif len({subject.casefold() for subject in subjects}) < len(subjects):
        yield "subjects", _("Each test subject must differ from the others.")
    for subject in subjects:
        found = text_problem(subject, single_line=True) or (
            _("At most 200 characters.") if len(subject) > 200 else None
        )
        if found:
            yield "subjects", found
            break
    percent = values.get("sample_percent")
    if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 99:
        yield "sample_percent", _("Must be between 1 and 99 (percent of the audience).")
    wait = values.get("wait_minutes")
    if isinstance(wait, bool) or not isinstance(wait, int) or not 0 <= wait <= MAX_WAIT_MINUTES:
        yield "wait_minutes", _("Must be between 0 and %(max)d minutes.") % {"max": MAX_WAIT_MINUTES}
    if values.get("metric") not in ABTest.Metric.values:
        yield "metric", _("Must be one of: %(choices)s.") % {"choices": ", ".join(ABTest.Metric.values)}


def _save_ab_test(campaign: Campaign, values: Mapping[str, Any] | None) -> None:
    if values is None:
        ABTest.objects.filter(campaign=campaign).delete()
        return
    ABTest.objects.update_or_create(
        campaign=campaign,
        defaults={
            "subjects": [str(subject).strip() for subject in values["subjects"]],
            "sample_percent": values["sample_percent"],
            "wait_minutes": values["wait_minutes"],
            "metric": values["metric"],
        },
    )


def _field_values(campaign: Campaign) -> dict[str, Any]:
    return {field.name: getattr(campaign, field.name) for field in Campaign._meta.concrete_fields}


def create_campaign(
    *,
    actor: Any,
    campaign: Campaign,
    lists: Iterable[MailingList],
    translations: Mapping[str, Mapping[str, str]] | None = None,
    ab_test: Mapping[str, Any] | None = None,
    via: str = "",
) -> Campaign:
    """Save ``campaign`` (a new draft, its fields set) with its lists, translations and A/B test; log who made it.

    With an A/B test and no subject, the first test subject is the main one.
    """
    translations = translations or {}
    errors = problems(_field_values(campaign), translations=translations, ab_test=ab_test)
    if errors:
        raise InvalidCampaign(errors)
    if ab_test is not None and not campaign.subject.strip():
        campaign.subject = str(ab_test["subjects"][0]).strip()
    with transaction.atomic():
        campaign.status = S.DRAFT
        campaign.created_by = actor if getattr(actor, "pk", None) else None
        campaign.save()
        campaign.lists.set(list(lists))
        for code, texts in translations.items():
            CampaignTranslation.objects.create(campaign=campaign, language=code, **texts)
        if ab_test is not None:
            _save_ab_test(campaign, ab_test)
        audit.record(actor=actor, action=audit.CREATED, campaign=campaign, detail=via)
    return campaign


def change_campaign(
    *,
    actor: Any,
    campaign: Campaign,
    changed: Sequence[str],
    save_related: Callable[[], None] | None = None,
    ab_test: Mapping[str, Any] | None = KEEP,
) -> bool:
    """Save the changed fields of ``campaign`` (and what ``save_related`` writes: lists, inlines).

    ``ab_test``: its settings, None to remove it, or ``KEEP``.

    Returns True when the change sent a submitted or approved campaign back
    to draft (``lifecycle.after_edit``): what was approved is what goes out.
    """
    if not changed:
        if save_related is not None:
            save_related()  # nothing changed: the inlines still report what they did
        return False
    errors = problems(_field_values(campaign), ab_test=None if ab_test is KEEP else ab_test)
    if errors:
        raise InvalidCampaign(errors)
    with transaction.atomic():
        # Under the row lock the lifecycle takes too: beat cannot start it half-way through this edit.
        stored = Campaign.objects.select_for_update().only("status").get(pk=campaign.pk)
        if stored.status not in lifecycle.BEFORE_SEND:
            raise lifecycle.Refused(_("Once sending has started, a campaign cannot be changed."))
        campaign.save(update_fields=EDITABLE)
        if ab_test is not KEEP:
            _save_ab_test(campaign, ab_test)
        if save_related is not None:
            save_related()
        audit.record(actor=actor, action=audit.EDITED, campaign=campaign, detail=", ".join(changed)[:2000])
    return lifecycle.after_edit(campaign=campaign, actor=actor)


def restrict_to_versions(*, campaign: Campaign, actor: Any) -> list[str]:
    """Send only to readers of the languages the campaign has a version in; returns those languages.

    Readers of other languages would otherwise get the main version, which
    they may not read. Counts as an edit: an approval is voided as for any edit.
    """
    versions = [campaign.language, *campaign.translations.values_list("language", flat=True)]
    campaign.languages = [
        code for code in dict.fromkeys(versions) if not campaign.languages or code in campaign.languages
    ]
    change_campaign(actor=actor, campaign=campaign, changed=["languages: " + ", ".join(campaign.languages)])
    return list(campaign.languages)


def set_public_archive(*, campaign: Campaign, actor: Any, shown: bool) -> Campaign:
    """Show or hide the campaign in the public archive, before or after sending.

    Hiding takes it off the archive pages at once; its web version stays
    readable from the emails' links, but unlisted and not indexed.
    """
    campaign.public_archive = shown
    campaign.save(update_fields=["public_archive", "updated_at"])
    audit.record(actor=actor, action=audit.ARCHIVE_SHOWN if shown else audit.ARCHIVE_HIDDEN, campaign=campaign)
    return campaign
