"""Supporters, the lists they choose, and the evidence of their consent.

``Consent`` rows are append-only evidence (CASL puts the burden of proof on
the sender; the GDPR asks for demonstrable consent). ``Suppression`` rows are
keyed by a one-way hash of the address so that they outlive GDPR erasure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.text import get_text_list
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_hash(email: str) -> str:
    """A stable one-way hash of an address: what erasure leaves behind.

    Deliberately unkeyed by SECRET_KEY: a key rotation must not un-suppress
    anyone.
    """
    return hashlib.sha256(("tocsin:" + normalize_email(email)).encode()).hexdigest()


class Language(models.TextChoices):
    EN = "en", _("English")
    ES = "es", _("Spanish")
    FR = "fr", _("French")


class MailingList(models.Model):
    slug = models.SlugField(
        max_length=60,
        unique=True,
        verbose_name=_("slug"),
        help_text=_("The list's name in web addresses and in the API, e.g. peru."),
    )
    name = models.CharField(max_length=120, verbose_name=_("name"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    public = models.BooleanField(
        default=True, help_text=_("Offered on the sign-up form and in the preference centre."), verbose_name=_("public")
    )
    tracking_enabled = models.BooleanField(
        default=True,
        help_text=_("Off: no open pixel and no click tracking for anyone who gets a campaign through this list."),
        verbose_name=_("count opens and clicks"),
    )
    position = models.PositiveIntegerField(default=0, verbose_name=_("position"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    # {"es": {"name": "…", "description": "…"}, "fr": {…}}: what readers of
    # those languages see instead of ``name`` and ``description``.
    translations = models.JSONField(default=dict, blank=True, verbose_name=_("translations"))

    class Meta:
        verbose_name = _("mailing list")
        verbose_name_plural = _("mailing lists")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.local_name

    def _translated(self, field: str, language: str | None) -> str:
        translations = self.translations if isinstance(self.translations, dict) else {}
        for code in (language or "", (language or "").split("-")[0]):
            entry = translations.get(code.lower())
            text = entry.get(field) if isinstance(entry, dict) else None
            if isinstance(text, str) and text.strip():
                return text
        return str(getattr(self, field))

    def name_in(self, language: str | None) -> str:
        """The list's name for readers of ``language``: its translation, else the main name."""
        return self._translated("name", language)

    def description_in(self, language: str | None) -> str:
        return self._translated("description", language)

    @property
    def local_name(self) -> str:
        """The name in the language being shown now (a page's, or an email's recipient's)."""
        return self.name_in(translation.get_language())

    @property
    def local_description(self) -> str:
        return self.description_in(translation.get_language())


def quoted_list_names(mailing_lists: Iterable[MailingList], *, language: str | None = None) -> str:
    """'“Peru” and “Guatemala”' in ``language`` (default: the active one), with that language's quotation marks."""
    with translation.override(language or translation.get_language()):
        quoted = [
            pgettext("quotation marks around a list's name", "“%(name)s”") % {"name": mailing_list.local_name}
            for mailing_list in mailing_lists
        ]
        return get_text_list(quoted, gettext("and"))


class SubscriberQuerySet(models.QuerySet["Subscriber"]):
    """Keeps ``Subscriber.email_hash`` right on the bulk paths that skip ``save()``."""

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Subscriber]:
        objs = list(objs)
        for obj in objs:
            obj.email = normalize_email(obj.email)
            obj.email_hash = email_hash(obj.email)
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs: Any, fields: Any, *args: Any, **kwargs: Any) -> int:
        fields = list(fields)
        if "email" in fields:
            objs = list(objs)
            for obj in objs:
                obj.email = normalize_email(obj.email)
                obj.email_hash = email_hash(obj.email)
            if "email_hash" not in fields:
                fields.append("email_hash")
        return super().bulk_update(objs, fields, *args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        if "email" in kwargs and "email_hash" not in kwargs:
            if not isinstance(kwargs["email"], str):
                # An expression would need the hash computed in SQL per backend: not worth it.
                raise TypeError("Subscriber.email can be bulk-updated only to a plain address")
            kwargs["email"] = normalize_email(kwargs["email"])
            kwargs["email_hash"] = email_hash(kwargs["email"])
        return super().update(**kwargs)


# Exporting the list is the one way subscriber data leaves the server, so it
# is a permission of its own (SPEC, privacy for people at risk); staff roles
# (campaigns/staff/roles.py) give it to admins only.
EXPORT_PERMISSION = "subscribers.export_subscribers"


class Subscriber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        BOUNCED = "bounced", _("Bounced")
        COMPLAINED = "complained", _("Complained")
        ERASED = "erased", _("Erased (GDPR)")

    email = models.EmailField(max_length=254, unique=True, verbose_name=_("email address"))
    # ``email_hash(email)``, stored so that audience SQL joins Suppression on an
    # index instead of hashing every address per count. Kept by save() and by
    # SubscriberQuerySet; raw SQL writers (subscribers/importing.py) set it too.
    email_hash = models.CharField(
        max_length=64, db_index=True, editable=False, blank=True, default="", verbose_name=_("address hash")
    )
    name = models.CharField(max_length=100, blank=True, verbose_name=_("name"))
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.EN, verbose_name=_("language"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True, verbose_name=_("status")
    )
    tracking_allowed = models.BooleanField(
        default=True,
        help_text=_("Off: this person's emails carry no open pixel and no tracked links."),
        verbose_name=_("count opens and clicks"),
    )
    paused_until = models.DateField(
        null=True, blank=True, help_text=_("No campaigns until this date."), verbose_name=_("paused until")
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("created at"))
    confirmed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("confirmed at"))
    unsubscribed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("unsubscribed at"))
    last_confirmation_sent_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("last confirmation email sent at")
    )
    lists: models.ManyToManyField[MailingList, Subscription] = models.ManyToManyField(
        MailingList, through="Subscription", related_name="subscribers", verbose_name=_("lists")
    )

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")
        indexes = [
            models.Index(Lower("email"), name="subscriber_email_lower"),
            models.Index(fields=["status", "language"], name="subscriber_status_lang"),
            # The few who turned tracking off: campaign reports leave them out of the rates.
            models.Index(fields=["id"], condition=models.Q(tracking_allowed=False), name="subscriber_untracked"),
        ]
        # The list leaves the server only through this permission, and each export is logged.
        permissions = [("export_subscribers", _("Can export subscribers"))]

    def __str__(self) -> str:
        return self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = normalize_email(self.email)
        self.email_hash = email_hash(self.email)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "email" in update_fields and "email_hash" not in update_fields:
            kwargs["update_fields"] = [*update_fields, "email_hash"]
        super().save(*args, **kwargs)

    @property
    def greeting_name(self) -> str:
        return self.name or ""


class Subscription(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Subscribed")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="subscriptions", verbose_name=_("subscriber")
    )
    mailing_list = models.ForeignKey(
        MailingList, on_delete=models.CASCADE, related_name="subscriptions", verbose_name=_("mailing list")
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, verbose_name=_("status"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "mailing_list"], name="subscription_unique"),
        ]
        # Audience counts walk list -> active subscriptions -> subscriber.
        indexes = [models.Index(fields=["mailing_list", "status", "subscriber"], name="subscription_audience")]

    def __str__(self) -> str:
        # The admin shows this above each of a person's lists.
        return f"{self.mailing_list} ({self.get_status_display()})"


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

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")

    def __str__(self) -> str:
        return f"{self.get_reason_display()} ({self.email_hash[:12]}…)"
