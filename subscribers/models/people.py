"""Supporters and their subscriptions; the address, normalised and hashed."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subscribers.models.lists import Language, MailingList


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_hash(email: str) -> str:
    """A stable one-way hash of an address: what erasure leaves behind.

    Deliberately unkeyed by SECRET_KEY: a key rotation must not un-suppress
    anyone.
    """
    return hashlib.sha256(("tocsin:" + normalize_email(email)).encode()).hexdigest()


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
    # SubscriberQuerySet; raw SQL writers (subscribers/importing/writing.py) set it too.
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
