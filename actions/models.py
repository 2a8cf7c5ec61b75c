"""Taking action: decision-makers (targets), districts, actions, signatures and letters.

A *target* is a decision-maker with an email address (an MP, a minister, a
company's board), in named groups (``mps``, ``ministers``). A *district* is
found from a supporter's postal code through ``PostalPrefix`` rows (the
longest matching prefix wins). An *action* is a petition or a letter; each
person signs it once (``Signature``, unique per action and address), and a
letter gives one ``Letter`` row per target: the ledger the sending engine
will drive, unique per (signature, target) so that no target ever gets the
same supporter's letter twice.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subscribers.models import Consent, Language, MailingList, Subscriber, normalize_email
from subscribers.text import SafeTextValidator
from subscribers.translated import TranslatedNames

_ONE_LINE = [SafeTextValidator(single_line=True)]
_MULTI_LINE = [SafeTextValidator()]


class TargetGroup(TranslatedNames, models.Model):
    """A named set of targets: the CSV's ``group`` column and the API's ``targets.group``.

    Its name is shown to supporters (the letter page says who receives the
    letter), so it has one in each language: ``name_in(language)``.
    """

    slug = models.SlugField(
        _("short name"),
        max_length=60,
        unique=True,
        help_text=_("As written in the import file and the API, e.g. mps or ministers."),
    )
    name = models.CharField(_("name"), max_length=120, validators=_ONE_LINE)
    # {"es": {"name": "…"}, "fr": {…}}: what readers of those languages see instead of ``name``.
    translations = models.JSONField(_("translations"), default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("target group")
        verbose_name_plural = _("target groups")

    def __str__(self) -> str:
        return self.name or self.slug


class District(models.Model):
    """An electoral district (a riding), known by its official code."""

    code = models.CharField(_("code"), max_length=32, unique=True, validators=_ONE_LINE)
    name = models.CharField(_("name"), max_length=200, blank=True, validators=_ONE_LINE)
    province = models.CharField(_("province"), max_length=40, blank=True, validators=_ONE_LINE)

    class Meta:
        ordering = ["name", "code"]
        verbose_name = _("district")
        verbose_name_plural = _("districts")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})" if self.name else self.code


class PostalPrefix(models.Model):
    """A postal-code prefix that lies in a district.

    ``prefix`` is stored compact and upper-case: an FSA (``K1A``), a longer
    prefix, or a whole code (``K1A0A6``). A prefix may lie in several
    districts (an FSA that straddles a boundary): then the supporter chooses.
    """

    prefix = models.CharField(_("postal prefix"), max_length=6, db_index=True)
    district = models.ForeignKey(
        District, on_delete=models.CASCADE, related_name="postal_prefixes", verbose_name=_("district")
    )

    class Meta:
        ordering = ["prefix", "district"]
        constraints = [models.UniqueConstraint(fields=["prefix", "district"], name="postal_prefix_unique")]
        verbose_name = _("postal prefix")
        verbose_name_plural = _("postal prefixes")

    def __str__(self) -> str:
        return f"{self.prefix} → {self.district_id}"


class Target(models.Model):
    """A decision-maker letters are written to."""

    name = models.CharField(_("name"), max_length=200, validators=_ONE_LINE)
    title = models.CharField(
        _("title"), max_length=200, blank=True, validators=_ONE_LINE, help_text=_("e.g. Minister of Foreign Affairs")
    )
    email = models.EmailField(_("email address"), max_length=254, unique=True)
    groups = models.ManyToManyField(TargetGroup, blank=True, related_name="targets", verbose_name=_("groups"))
    district = models.ForeignKey(
        District,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="targets",
        verbose_name=_("district"),
    )
    province = models.CharField(_("province"), max_length=40, blank=True, validators=_ONE_LINE)
    party = models.CharField(_("party"), max_length=100, blank=True, validators=_ONE_LINE)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, blank=True)
    do_not_email = models.BooleanField(
        _("do not email"),
        default=False,
        help_text=_("Letters to this target are collected for staff to deliver by hand, never emailed."),
    )
    active = models.BooleanField(
        _("active"), default=True, help_text=_("Off: no longer in office; new letters leave this target out.")
    )
    # Set by a hard bounce or a complaint of a letter to this address (actions/bounces.py); staff clear it.
    bouncing_since = models.DateTimeField(_("address bounces since"), null=True, blank=True)
    bounce_reason = models.CharField(_("why it bounced"), max_length=500, blank=True)
    soft_bounces = models.PositiveIntegerField(_("temporary failures"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("target")
        verbose_name_plural = _("targets")

    def __str__(self) -> str:
        return f"{self.name}, {self.title}" if self.title else self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    @property
    def by_hand(self) -> bool:
        """Letters to this target are collected for staff to deliver: it takes no email, or its address bounces."""
        return self.do_not_email or self.bouncing_since is not None


class Action(models.Model):
    class Kind(models.TextChoices):
        PETITION = "petition", _("Petition")
        LETTER = "letter", _("Letter to decision-makers")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class EditPolicy(models.TextChoices):
        FIXED = "fixed", _("Supporters send the letter as written")
        PARAGRAPH = "paragraph", _("Supporters may add a personal paragraph")
        FULL = "full", _("Supporters may edit the whole letter")

    class DeliveryMode(models.TextChoices):
        EACH = "each", _("Each letter as it comes")
        DIGEST = "digest", _("One digest per target each day")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PETITION)
    slug = models.SlugField(
        _("address"),
        max_length=100,
        unique=True,
        help_text=_("The end of the public page's address, as in /act/stop-the-mine/."),
    )
    title = models.CharField(_("title"), max_length=200, validators=_ONE_LINE)
    body_markdown = models.TextField(
        _("text"), blank=True, validators=_MULTI_LINE, help_text=_("What the action is about (Markdown).")
    )
    goal = models.PositiveIntegerField(
        _("goal"), null=True, blank=True, help_text=_("How many signatures you aim for (shown with the count).")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    lists = models.ManyToManyField(
        MailingList,
        blank=True,
        related_name="actions",
        verbose_name=_("lists offered"),
        help_text=_("Offered as unticked opt-in boxes; ticking one is a sign-up with double opt-in."),
    )
    letter_subject = models.CharField(_("letter subject"), max_length=200, blank=True, validators=_ONE_LINE)
    letter_body = models.TextField(_("letter"), blank=True, validators=_MULTI_LINE)
    edit_policy = models.CharField(
        _("what supporters may change"), max_length=16, choices=EditPolicy.choices, default=EditPolicy.PARAGRAPH
    )
    edit_limit = models.PositiveIntegerField(
        _("length limit"),
        default=1500,
        help_text=_("Most characters of the personal paragraph, or of the whole letter when supporters may edit it."),
    )
    target_group = models.ForeignKey(
        TargetGroup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="actions",
        verbose_name=_("target group"),
        help_text=_("Letters go to this group's targets (only those of the supporter's district, if chosen below)."),
    )
    by_district = models.BooleanField(
        _("by district"),
        default=False,
        help_text=_("Each supporter writes to the targets of their own district, found from their postal code."),
    )
    targets = models.ManyToManyField(
        Target,
        blank=True,
        related_name="fixed_in_actions",
        verbose_name=_("fixed targets"),
        help_text=_("Every supporter's letter goes to these, whatever their district."),
    )
    delivery_mode = models.CharField(
        _("how letters reach targets"),
        max_length=16,
        choices=DeliveryMode.choices,
        default=DeliveryMode.EACH,
    )
    digest_hour = models.PositiveSmallIntegerField(
        _("digest hour"),
        default=17,
        validators=[MaxValueValidator(23)],
        help_text=_("For daily digests: the hour (0 to 23, in the organisation's time zone) they go out."),
    )
    daily_cap = models.PositiveIntegerField(
        _("letters per target per day"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_(
            "At most this many letters of this action reach one target in a day; the rest wait for the "
            "next day. Empty: no limit."
        ),
    )
    test_mode = models.BooleanField(
        _("test mode"),
        default=False,
        help_text=_(
            "Letters signed while this is on go to the test address, never to the targets. Opening the "
            "action turns it off."
        ),
    )
    test_email = models.EmailField(
        _("test address"),
        blank=True,
        help_text=_("Where letters go in test mode (empty: the address of the staff member who created the action)."),
    )
    share_image_url = models.URLField(
        _("share image"), blank=True, help_text=_("Shown when the page is shared on social media (1200 by 630 pixels).")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("action")
        verbose_name_plural = _("actions")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("actions:page", args=[self.slug])

    @property
    def is_letter(self) -> bool:
        return self.kind == self.Kind.LETTER

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Signature(models.Model):
    """One person's signature on one action: at most one per address per action."""

    class Source(models.TextChoices):
        FORM = "form", _("Action page")
        EMBED = "embed", _("Embedded form")
        API = "api", _("API")
        LINK = "link", _("Personal link in a campaign")

    action = models.ForeignKey(Action, on_delete=models.PROTECT, related_name="signatures", verbose_name=_("action"))
    email = models.EmailField(_("email address"), max_length=254)
    name = models.CharField(_("name"), max_length=100)
    postal_code = models.CharField(_("postal code"), max_length=7, blank=True)
    city = models.CharField(
        _("city"), max_length=100, blank=True, help_text=_("Shown under the letter with the postal code.")
    )
    district = models.ForeignKey(
        District,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="signatures",
        verbose_name=_("district"),
    )
    message = models.TextField(
        _("message"), blank=True, help_text=_("The petition comment, or the personal paragraph added to the letter.")
    )
    # The letter as this supporter sent it, frozen at signing: staff editing the
    # action later must not change letters already signed.
    letter_subject = models.CharField(_("letter subject"), max_length=200, blank=True)
    letter_body = models.TextField(_("letter"), blank=True)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, default=Language.EN)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.FORM)
    source_detail = models.CharField(
        _("where from"),
        max_length=255,
        blank=True,
        help_text=_("The page, or what the API caller said (e.g. a partner's website)."),
    )
    subscriber = models.ForeignKey(
        Subscriber,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="signatures",
        verbose_name=_("subscriber"),
        help_text=_("The subscriber with this address, if any (for leaving out people who already acted)."),
    )
    consent = models.ForeignKey(
        Consent,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("opt-in consent"),
        help_text=_("The sign-up recorded when the person ticked lists on the action page."),
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("from campaign"),
    )
    created_at = models.DateTimeField(_("signed"), default=timezone.now)
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["action", "email"], name="signature_once_per_address")]
        indexes = [
            # Reports over time, and the newest signatures in the admin.
            models.Index(fields=["action", "created_at"], name="signature_action_time"),
        ]
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")

    def __str__(self) -> str:
        return f"{self.name} · {self.action_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)


# Models kept in modules of their own (models.py stays under the size limit), among them the
# letters' ledger; imported here so that Django and ``from actions.models import …`` find them.
from actions.content_models import ActedAudience, ActionTranslation  # noqa: E402
from actions.ledger import Letter, LetterBounce, LetterDigest  # noqa: E402

__all__ = [
    "ActedAudience",
    "Action",
    "ActionTranslation",
    "District",
    "Letter",
    "LetterBounce",
    "LetterDigest",
    "PostalPrefix",
    "Signature",
    "Target",
    "TargetGroup",
]
