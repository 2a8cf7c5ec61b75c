"""What staff do to a campaign, for the admin and the API alike.

Every send, schedule, pause, resume and cancel passes the approval gate
(``campaigns.approval``) here and then goes to the sending engine
(``campaigns.sending.control``). The engine is looked up at call time: until it is
installed these steps are refused with a clear message instead of failing.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from types import ModuleType
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns import approval, send_blockers
from campaigns.models import Campaign, Delivery
from campaigns.sending.rendering import CampaignRenderer
from campaigns.staff import audit
from campaigns.workflow import TransitionNotAllowed
from subscribers.models import Subscriber, Subscription

S = Campaign.Status


class OperationRefused(Exception):
    """The campaign's state (or the engine's absence) does not allow this; the message says why."""


class ScheduleInPast(ValueError):
    pass


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# Where the engine's functions live: control steps only in control.py; the
# read-side helpers wherever the engine put them.
_ENGINE_MODULES = {
    "count_audience": ("campaigns.sending.control", "campaigns.sending.audience"),
    "campaign_counts": ("campaigns.sending.control", "campaigns.sending.engine"),
}


def _engine_function(name: str) -> Any:
    for module_name in _ENGINE_MODULES.get(name, ("campaigns.sending.control",)):
        module = _module(module_name)
        if module is not None and callable(getattr(module, name, None)):
            return getattr(module, name)
    return None


def _engine_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [TransitionNotAllowed]
    control = _module("campaigns.sending.control")
    if control is not None:
        for attr in dir(control):
            value = getattr(control, attr)
            if isinstance(value, type) and issubclass(value, Exception) and value.__module__ == control.__name__:
                errors.append(value)
    return tuple(errors)


def _call_engine(name: str, campaign: Campaign, **kwargs: Any) -> Campaign:
    function = _engine_function(name)
    if function is None:
        raise OperationRefused(
            _("The sending engine is not installed yet: campaigns cannot be sent, paused, resumed or cancelled.")
        )
    try:
        result = function(campaign, **kwargs)
    except approval.ApprovalError:
        raise
    except _engine_errors() as error:
        raise OperationRefused(str(error)) from error
    campaign.refresh_from_db()
    return result if isinstance(result, Campaign) else campaign


def engine_installed() -> bool:
    return _engine_function("start") is not None


def start(campaign: Campaign, *, actor: Any, at: datetime | None = None) -> Campaign:
    """Send now, or schedule at ``at`` (an aware datetime in the future)."""
    if at is not None and at <= timezone.now():
        raise ScheduleInPast(_("That time is in the past."))
    reason = approval.send_blocked_reason(campaign)
    if reason:
        raise approval.NeedsApproval(reason)
    if campaign.status not in (S.DRAFT, S.APPROVED, S.SCHEDULED):
        raise OperationRefused(
            _("A campaign that is %(status)s cannot be sent or scheduled.")
            % {"status": campaign.get_status_display().lower()}
        )
    blocked = send_blockers.blocked_reason(campaign)
    if blocked:
        raise OperationRefused(blocked)
    return _call_engine("start", campaign, actor=actor, at=at)


def pause(campaign: Campaign, *, actor: Any) -> Campaign:
    return _call_engine("pause", campaign, actor=actor)


def resume(campaign: Campaign, *, actor: Any) -> Campaign:
    return _call_engine("resume", campaign, actor=actor)


def cancel(campaign: Campaign, *, actor: Any) -> Campaign:
    return _call_engine("cancel", campaign, actor=actor)


def resend_unknown(campaign: Campaign, *, actor: Any) -> Campaign:
    return _call_engine("resend_unknown", campaign, actor=actor)


def restrict_to_versions(campaign: Campaign, *, actor: Any) -> list[str]:
    """Send only to readers of the languages the campaign has a version in; returns those languages.

    Readers of other languages would otherwise get the main version, which
    they may not read. Counts as an edit: an approval is voided as for any edit.
    """
    if campaign.status not in (S.DRAFT, S.REVIEW, S.APPROVED, S.SCHEDULED):
        raise OperationRefused(_("Only a campaign that has not started sending can change its audience."))
    versions = [campaign.language, *campaign.translations.values_list("language", flat=True)]
    chosen = [code for code in dict.fromkeys(versions) if not campaign.languages or code in campaign.languages]
    campaign.languages = chosen
    campaign.save(update_fields=["languages", "updated_at"])
    audit.record(actor=actor, action=audit.EDITED, campaign=campaign, detail="languages: " + ", ".join(chosen))
    approval.void_approval_after_edit(campaign, actor=actor)
    return chosen


def set_public_archive(campaign: Campaign, *, actor: Any, shown: bool) -> Campaign:
    """Show or hide the campaign in the public archive, before or after sending.

    Hiding takes it off the archive pages at once; its web version stays
    readable from the emails' links, but unlisted and not indexed.
    """
    campaign.public_archive = shown
    campaign.save(update_fields=["public_archive", "updated_at"])
    audit.record(actor=actor, action=audit.ARCHIVE_SHOWN if shown else audit.ARCHIVE_HIDDEN, campaign=campaign)
    return campaign


# --- Read-side helpers -------------------------------------------------------------


def count_audience(campaign: Campaign) -> int:
    """How many people the campaign would reach now (one SQL count)."""
    function = _engine_function("count_audience")
    if function is not None:
        return int(function(campaign))
    return _fallback_count_audience(campaign)


def _fallback_count_audience(campaign: Campaign) -> int:
    # Used only until the engine's own audience query is installed.
    people = Subscriber.objects.filter(
        status=Subscriber.Status.CONFIRMED,
        subscriptions__status=Subscription.Status.ACTIVE,
        subscriptions__mailing_list__in=campaign.lists.all(),
    )
    if campaign.languages:
        people = people.filter(language__in=campaign.languages)
    if campaign.signed_up_after:
        people = people.filter(created_at__gte=campaign.signed_up_after)
    if campaign.signed_up_before:
        people = people.filter(created_at__lt=campaign.signed_up_before)
    return people.distinct().count()


def campaign_counts(campaign: Campaign) -> dict[str, int]:
    """recipients, sent, failed, unknown, pending — the live audience before sending, the ledger after."""
    function = _engine_function("campaign_counts")
    if function is not None:
        counts = dict(function(campaign))
        return {key: int(counts.get(key, 0)) for key in ("recipients", "sent", "failed", "unknown", "pending")}
    D = Delivery.Status
    ledger = Delivery.objects.filter(campaign=campaign).aggregate(
        recipients=Count("id"),
        sent=Count("id", filter=Q(status=D.SENT)),
        failed=Count("id", filter=Q(status=D.FAILED)),
        unknown=Count("id", filter=Q(status=D.UNKNOWN)),
        pending=Count("id", filter=Q(status__in=[D.QUEUED, D.SENDING])),
    )
    if not ledger["recipients"] and campaign.status in (S.DRAFT, S.REVIEW, S.APPROVED, S.SCHEDULED):
        ledger["recipients"] = count_audience(campaign)
    return {key: int(value or 0) for key, value in ledger.items()}


# --- Test sends ----------------------------------------------------------------------


class TestRecipientRefused(ValueError):
    pass


def staff_addresses() -> list[str]:
    User = get_user_model()
    emails = User.objects.filter(is_active=True, is_staff=True).exclude(email="").values_list("email", flat=True)
    return sorted({email.strip().lower() for email in emails})


def send_test(campaign: Campaign, *, actor: Any, addresses: list[str], language: str | None = None) -> int:
    """Send the campaign, marked [TEST], to staff addresses only.

    Only staff addresses: a test send skips approval and the audience rules,
    so it must not become a way to mail anyone else. The message carries no
    campaign metadata and no tracking, so test opens never reach the reports.
    """
    allowed = set(staff_addresses())
    wanted = [address.strip().lower() for address in addresses if address.strip()]
    refused = [address for address in wanted if address not in allowed]
    if refused:
        raise TestRecipientRefused(
            _("Tests go to staff addresses only; not a staff address: %(addresses)s")
            % {"addresses": ", ".join(refused)}
        )
    if not wanted:
        raise TestRecipientRefused(_("Give at least one staff address."))
    renderer = CampaignRenderer(campaign)
    language = language if language in renderer.languages else campaign.language
    name = (getattr(actor, "first_name", "") or "").strip()
    for address in wanted:
        sample = Subscriber(pk=0, email=address, name=name, language=language)
        message = renderer.render(subscriber=sample, language=language, list_ids=list(renderer.lists))
        message.subject = f"[TEST] {message.subject}"
        message.to = [address]
        # Only what the configured provider accepts (see CampaignRenderer).
        if renderer.metadata_allowed:
            message.metadata = {"test": "1"}  # type: ignore[attr-defined]
        message.tags = ["test"]  # type: ignore[attr-defined]
        if renderer.tracking_switch:
            message.track_opens = False  # type: ignore[attr-defined]
            message.track_clicks = False  # type: ignore[attr-defined]
        message.send()
    audit.record(actor=actor, action=audit.TEST_SENT, campaign=campaign, detail=f"[{language}] to {', '.join(wanted)}")
    return len(wanted)
