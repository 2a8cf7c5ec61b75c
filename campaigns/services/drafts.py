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
from campaigns.models import Campaign, CampaignTranslation
from campaigns.staff import audit
from subscribers.models import MailingList
from subscribers.text import address_problem

S = Campaign.Status
# Status, schedule, approval and authorship change only through campaigns.lifecycle (and creation).
_NOT_EDITED = {"id", "status", "status_reason", "scheduled_at", "started_at", "finished_at", "approved_by"}
_NOT_EDITED |= {"created_by", "created_at", "attribution_code"}
EDITABLE = [field.name for field in Campaign._meta.concrete_fields if field.name not in _NOT_EDITED]


class InvalidCampaign(Exception):
    """Every problem found, by field: ``{field: [message, …]}``."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items()))
        self.errors = errors


def problems(values: Mapping[str, Any], *, translations: Iterable[str] = ()) -> dict[str, list[str]]:
    """What is wrong with these campaign fields taken together (``translations``: their language codes)."""
    errors: dict[str, list[str]] = {}
    for check in (_audience_problems, _appeal_problems, _address_problems):
        for field, message in check(values):
            errors.setdefault(field, []).append(message)
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


def _field_values(campaign: Campaign) -> dict[str, Any]:
    return {field.name: getattr(campaign, field.name) for field in Campaign._meta.concrete_fields}


def create_campaign(
    *,
    actor: Any,
    campaign: Campaign,
    lists: Iterable[MailingList],
    translations: Mapping[str, Mapping[str, str]] | None = None,
    via: str = "",
) -> Campaign:
    """Save ``campaign`` (a new draft, its fields set) with its lists and translations, and log who made it."""
    translations = translations or {}
    errors = problems(_field_values(campaign), translations=translations)
    if errors:
        raise InvalidCampaign(errors)
    with transaction.atomic():
        campaign.status = S.DRAFT
        campaign.created_by = actor if getattr(actor, "pk", None) else None
        campaign.save()
        campaign.lists.set(list(lists))
        for code, texts in translations.items():
            CampaignTranslation.objects.create(campaign=campaign, language=code, **texts)
        audit.record(actor=actor, action=audit.CREATED, campaign=campaign, detail=via)
    return campaign


def change_campaign(
    *,
    actor: Any,
    campaign: Campaign,
    changed: Sequence[str],
    save_related: Callable[[], None] | None = None,
) -> bool:
    """Save the changed fields of ``campaign`` (and what ``save_related`` writes: lists, inlines).

    Returns True when the change sent a submitted or approved campaign back
    to draft (``lifecycle.after_edit``): what was approved is what goes out.
    """
    if not changed:
        if save_related is not None:
            save_related()  # nothing changed: the inlines still report what they did
        return False
    errors = problems(_field_values(campaign))
    if errors:
        raise InvalidCampaign(errors)
    with transaction.atomic():
        # Under the row lock the lifecycle takes too: beat cannot start it half-way through this edit.
        stored = Campaign.objects.select_for_update().only("status").get(pk=campaign.pk)
        if stored.status not in lifecycle.BEFORE_SEND:
            raise lifecycle.Refused(_("Once sending has started, a campaign cannot be changed."))
        campaign.save(update_fields=EDITABLE)
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
