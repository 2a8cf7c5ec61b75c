"""The evidence of consent, append-only, and the suppressed addresses.

``Consent`` rows are append-only evidence (CASL puts the burden of proof on
the sender; the GDPR asks for demonstrable consent). ``Suppression`` rows are
keyed by a one-way hash of the address so that they outlive GDPR erasure.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subscribers.models.people import Subscriber


class AppendOnlyError(Exception):
    """Consent evidence is never edited; only GDPR erasure may rewrite it."""


class ConsentQuerySet(models.QuerySet["Consent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("consent records are append-only")

    def erase_personal_data(self, *, replacement_email: str) -> int:
        """GDPR erasure, the one permitted rewrite: keep the event, drop the person."""
        return super().update(
            email=replacement_email, ip_address=None, user_agent="", page_url="", detail="", requested_name=""
        )

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("consent records are append-only")


class Consent(models.Model):
    """One event in a person's consent history: evidence, never edited."""

    class Action(models.TextChoices):
        SIGNUP = "signup", _("Signed up (awaiting confirmation)")
        CONFIRM = "confirm", _("Confirmed")
        IMPORT = "import", _("Imported")
        API = "api", _("Added through the API")
        CHANGE = "change", _("Changed preferences")
        UNSUBSCRIBE = "unsubscribe", _("Unsubscribed")
        SUPPRESS = "suppress", _("Suppressed")
        ERASE = "erase", _("Erased (GDPR)")

    class Basis(models.TextChoices):
        EXPRESS = "express", _("Express consent")
        IMPLIED = "implied", _("Implied consent")
        NONE = "", _("Not applicable")

    class Source(models.TextChoices):
        FORM = "form", _("Sign-up page")
        EMBED = "embed", _("Embedded form")
        API = "api", _("API")
        IMPORT = "import", _("CSV import")
        PREFERENCES = "preferences", _("Preference centre")
        STAFF = "staff", _("Staff")
        SYSTEM = "system", _("System")

    class Channel(models.TextChoices):
        ONE_CLICK = "one-click", _("One-click (List-Unsubscribe-Post)")
        PAGE = "page", _("Unsubscribe page")
        MAILTO = "mailto", _("Email to the unsubscribe address")
        PREFERENCES = "preferences", _("Preference centre")
        STAFF = "staff", _("Staff")
        COMPLAINT = "complaint", _("Spam complaint")
        BOUNCE = "bounce", _("Bounce")
        NONE = "", _("Not applicable")

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.PROTECT, related_name="consents", verbose_name=_("subscriber")
    )
    email = models.CharField(
        max_length=254, help_text=_("The address as it was at the time."), verbose_name=_("email address")
    )
    action = models.CharField(max_length=16, choices=Action.choices, verbose_name=_("event"))
    basis = models.CharField(max_length=16, choices=Basis.choices, blank=True, default="", verbose_name=_("basis"))
    implied_since = models.DateField(
        null=True, blank=True, help_text=_("Start of an implied-consent period."), verbose_name=_("implied since")
    )
    lists = models.JSONField(
        default=list, blank=True, help_text=_("Slugs of the lists this event is about."), verbose_name=_("lists")
    )
    wording = models.TextField(
        blank=True, help_text=_("The exact text the person was shown."), verbose_name=_("wording shown")
    )
    wording_version = models.CharField(max_length=40, blank=True, verbose_name=_("wording version"))
    language = models.CharField(max_length=8, blank=True, verbose_name=_("language"))
    # A sign-up request changes nothing about the person until it is
    # confirmed (a stranger can type anyone's address): what it asks for
    # waits here, in the row the confirmation link names, and is applied then.
    requested_name = models.CharField(
        _("name asked for"),
        max_length=100,
        blank=True,
        help_text=_("The name given with a sign-up: it replaces the person's name when they confirm."),
    )
    requested_language = models.CharField(
        _("email language asked for"),
        max_length=8,
        blank=True,
        help_text=_("The language chosen for emails with a sign-up: it becomes the person's when they confirm."),
    )
    source = models.CharField(max_length=16, choices=Source.choices, verbose_name=_("source"))
    channel = models.CharField(
        max_length=16, choices=Channel.choices, blank=True, default="", verbose_name=_("channel")
    )
    detail = models.CharField(
        max_length=255,
        blank=True,
        help_text=_("Import file, API token owner, bounce reason…"),
        verbose_name=_("detail"),
    )
    page_url = models.CharField(max_length=500, blank=True, verbose_name=_("page"))
    ip_address = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("IP address"))
    user_agent = models.CharField(max_length=500, blank=True, verbose_name=_("browser (user agent)"))
    requested_at = models.DateTimeField(default=timezone.now, verbose_name=_("requested at"))
    confirmed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("confirmed at"))
    created_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("recorded at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("staff member"),
    )

    objects = ConsentQuerySet.as_manager()

    # What a consent record proves, in the order the admin and the GDPR access
    # export show it.
    EVIDENCE_FIELDS = (
        "action",
        "basis",
        "implied_since",
        "lists",
        "wording",
        "wording_version",
        "language",
        "requested_name",
        "requested_language",
        "source",
        "channel",
        "detail",
        "email",
        "page_url",
        "ip_address",
        "user_agent",
        "requested_at",
        "confirmed_at",
    )

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} · {self.email} · {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("consent records are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("consent records are append-only")


class Suppression(models.Model):
    """An address that must never be mailed again unless it signs up afresh."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        BOUNCED = "bounced", _("Hard bounce")
        COMPLAINED = "complained", _("Spam complaint")
        REJECTED = "rejected", _("Rejected by the provider")
        ERASED = "erased", _("Erased (GDPR)")
        STAFF = "staff", _("Suppressed by staff")

    email_hash = models.CharField(max_length=64, unique=True, verbose_name=_("address hash"))
    reason = models.CharField(max_length=16, choices=Reason.choices, verbose_name=_("reason"))
    detail = models.CharField(max_length=255, blank=True, verbose_name=_("detail"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    # Where a suppression brought from elsewhere came from (an imported
    # provider export), when it happened there, and who imported it: the
    # evidence for an address that has no subscriber, hence no consent rows.
    source = models.CharField(
        max_length=255, blank=True, help_text=_("Import file and line, for example."), verbose_name=_("source")
    )
    occurred_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When it happened, as the file says."), verbose_name=_("happened at")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("staff member"),
    )

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")

    def __str__(self) -> str:
        return f"{self.get_reason_display()} ({self.email_hash[:12]}…)"
