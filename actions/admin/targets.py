"""Targets (with the CSV import), their groups, districts and postal prefixes in the admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import localtime
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources
from import_export.admin import ImportMixin
from import_export.formats import base_formats

from actions import bounces
from actions.importing import (
    TARGET_COLUMNS,
    TARGET_REQUIRED,
    InvalidRow,
    ensure_district,
    ensure_groups,
    parse_target_row,
)
from actions.models import District, LetterBounce, PostalPrefix, Target, TargetGroup
from campaigns.staff import audit
from subscribers.models import normalize_email
from subscribers.text import text_problem
from subscribers.translated import TranslatedModelForm, add_translation_fields, name_field, translated_into


class _GroupsField(fields.Field):
    """The target's groups as the preview shows them: those it has, plus those the row adds."""

    def get_value(self, instance: Any) -> str:
        current = set(instance.groups.values_list("slug", flat=True)) if instance.pk else set()
        return ";".join(sorted(current | set(getattr(instance, "_import_groups", ()))))


class TargetResource(resources.ModelResource):
    """One CSV row → one target, checked by ``actions.importing.parse_target_row``; updated by email."""

    name = fields.Field(column_name="name", attribute="name")
    email = fields.Field(column_name="email", attribute="email")
    title = fields.Field(column_name="title", attribute="title")
    group = _GroupsField(column_name="group")
    district = fields.Field(column_name="district", attribute="district__code")
    district_name = fields.Field(column_name="district_name", attribute="district__name")
    province = fields.Field(column_name="province", attribute="province")
    party = fields.Field(column_name="party", attribute="party")
    language = fields.Field(column_name="language", attribute="language")
    do_not_email = fields.Field(column_name="do_not_email", attribute="do_not_email")

    class Meta:
        model = Target
        import_id_fields = ("email",)
        fields = TARGET_COLUMNS
        # The preview shows each row's values, and what they replace.
        skip_diff = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._columns: list[str] = list(TARGET_COLUMNS)
        self._seen: dict[str, int] = {}

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        dataset.headers = [str(header or "").strip().lower().lstrip("\ufeff") for header in dataset.headers]
        missing = [column for column in TARGET_REQUIRED if column not in dataset.headers]
        if missing:
            raise ValueError(_("Missing column(s): %(columns)s.") % {"columns": ", ".join(missing)})
        unknown = [column for column in dataset.headers if column not in TARGET_COLUMNS]
        if unknown:
            raise ValueError(
                _("Unknown column(s): %(unknown)s; allowed: %(allowed)s.")
                % {"unknown": ", ".join(repr(column[:40]) for column in unknown), "allowed": ", ".join(TARGET_COLUMNS)}
            )
        self._columns = list(dataset.headers)
        self._seen = {}

    def get_instance(self, instance_loader: Any, row: dict[str, Any]) -> Target | None:
        value = str(row.get("email") or "")
        if text_problem(value, single_line=True) or len(value) > 254:
            return None  # import_instance reports it; the database never sees it
        return Target.objects.filter(email=normalize_email(value)).first()

    def import_instance(self, instance: Target, row: dict[str, Any], **kwargs: Any) -> None:
        line = int(kwargs.get("row_number") or 0) + 1  # the header is line 1
        try:
            parsed = parse_target_row(line, row, columns=self._columns)
        except InvalidRow as bad:
            raise ValidationError(bad.errors) from None
        if parsed.email in self._seen:
            message = _("Same address as line %(line)d: one row per target.") % {"line": self._seen[parsed.email]}
            raise ValidationError({"email": [message]})
        self._seen[parsed.email] = line
        instance.email = parsed.email
        instance.name = parsed.name
        for name, value in parsed.fields.items():
            setattr(instance, name, value)
        if parsed.district_code:
            instance.district, _created = ensure_district(
                code=parsed.district_code, name=parsed.district_name, province=parsed.fields.get("province", "")
            )
        elif "district" in self._columns:
            instance.district = None
        instance._import_groups = parsed.groups  # type: ignore[attr-defined]

    def after_save_instance(self, instance: Target, row: dict[str, Any], **kwargs: Any) -> None:
        slugs = getattr(instance, "_import_groups", ())
        if slugs and instance.pk:
            groups, _created = ensure_groups(slugs)
            instance.groups.add(*groups.values())


class LetterBounceInline(admin.TabularInline):
    """The target's returned letters and digests: what the flag and the count of temporary failures come from."""

    model = LetterBounce
    fields = readonly_fields = ("received_at", "kind", "reason")
    extra = 0
    can_delete = False
    verbose_name_plural = _("returned letters")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PostalPrefixInline(admin.TabularInline):
    model = PostalPrefix
    extra = 0


class TargetGroupForm(TranslatedModelForm):
    """The group's name and short name, and its name in each other language."""

    class Meta:
        model = TargetGroup
        fields = ["name", "slug"]


_TRANSLATION_FIELDS = add_translation_fields(
    TargetGroupForm, {"name": name_field(TargetGroup._meta.get_field("name").max_length)}
)


@admin.register(TargetGroup)
class TargetGroupAdmin(admin.ModelAdmin):
    titles = {"add": _("Add a target group"), "change": _("Edit target group"), "view": _("View target group")}
    form = TargetGroupForm
    list_display = ("name", "slug", "translated_into", "size")
    search_fields = ("name", "slug")
    fieldsets = [
        (None, {"fields": ["name", "slug"]}),
        (
            _("Translations"),
            {
                "fields": tuple(_TRANSLATION_FIELDS),
                "description": _(
                    "Readers whose language is one of these see this name where a letter's page says who "
                    "receives it. Left empty, they see the name above."
                ),
            },
        ),
    ]

    @admin.display(description=pgettext_lazy("a target group (a group, masculine in es/fr)", "Translated into"))
    def translated_into(self, obj: TargetGroup) -> str:
        return translated_into(obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[TargetGroup]:
        return super().get_queryset(request).annotate(target_count=Count("targets"))

    @admin.display(description=_("targets"), ordering="target_count")
    def size(self, group: Any) -> int:
        return int(group.target_count)


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    titles = {"add": _("Add a district"), "change": _("Edit district"), "view": _("View district")}
    list_display = ("name", "code", "province")
    search_fields = ("name", "code", "postal_prefixes__prefix")
    list_filter = ("province",)
    inlines = [PostalPrefixInline]


@admin.register(PostalPrefix)
class PostalPrefixAdmin(admin.ModelAdmin):
    titles = {"add": _("Add a postal prefix"), "change": _("Edit postal prefix"), "view": _("View postal prefix")}
    list_display = ("prefix", "district")
    search_fields = ("prefix", "district__name", "district__code")
    list_select_related = ("district",)
    raw_id_fields = ("district",)


BY_HAND_NOTE = _(
    "While the address bounces, letters to this target are not emailed: they are collected for delivery by "
    "hand, like those of a target that takes no email. Correct the address, or tick the box below once you "
    "know it works again; new letters are then emailed."
)


EDITABLE = ("name", "title", "email", "groups", "district", "province", "party", "language", "do_not_email", "active")


class BouncingFilter(admin.SimpleListFilter):
    title = _("address bounces")
    parameter_name = "bouncing"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Target]) -> QuerySet[Target]:
        if self.value() == "yes":
            return queryset.filter(bouncing_since__isnull=False)
        if self.value() == "no":
            return queryset.filter(bouncing_since__isnull=True)
        return queryset


class TargetForm(forms.ModelForm):
    clear_bounce = forms.BooleanField(
        label=_("The address works again"),
        required=False,
        help_text=_("Clears the flag: new letters to this target are emailed again. Written to the audit log."),
    )

    class Meta:
        model = Target
        fields = EDITABLE


@admin.register(Target)
class TargetAdmin(ImportMixin, admin.ModelAdmin):  # type: ignore[misc]  # the two stubs type change_list_template apart
    titles = {"add": _("Add a target"), "change": _("Edit target"), "view": _("View target")}
    form = TargetForm
    resource_classes = [TargetResource]
    import_formats = [base_formats.CSV]
    list_display = ("target", "title", "email", "district", "province", "party", "do_not_email", "active")
    list_display_links = ("target",)
    list_filter = ("groups", "province", "party", "language", "do_not_email", BouncingFilter, "active")
    search_fields = ("name", "email", "title", "district__name", "district__code", "party")
    list_select_related = ("district",)
    filter_horizontal = ("groups",)
    raw_id_fields = ("district",)
    readonly_fields = ("bounce_state", "soft_bounces", "created_at", "updated_at")
    actions = ["clear_bounce_flag"]
    inlines = [LetterBounceInline]

    def get_fieldsets(self, request: HttpRequest, obj: Target | None = None) -> Any:
        if obj is None:
            return [(None, {"fields": EDITABLE})]
        clear = ["clear_bounce"] if obj.bouncing_since else []
        bounce_fields = ["bounce_state", *clear, "soft_bounces"]
        return [
            (None, {"fields": EDITABLE}),
            (_("Bounces"), {"fields": bounce_fields}),
            (None, {"fields": ("created_at", "updated_at")}),
        ]

    @admin.display(description=_("name"), ordering="name")
    def target(self, target: Target) -> str | SafeString:
        # The flag under the name, the one column a phone shows without scrolling the table sideways.
        if target.bouncing_since is None:
            return target.name
        return format_html(
            '{}<br><strong class="errornote" style="display:inline-block;margin:4px 0 0;padding:2px 6px" '
            'title="{}">{}</strong>',
            target.name,
            target.bounce_reason,
            gettext("Address bounces: letters go by hand"),
        )

    @admin.display(description=_("address bounces"))
    def bounce_state(self, target: Target) -> str | SafeString:
        if target.bouncing_since is None:
            return gettext("No: letters are emailed.")
        return format_html(
            '<strong>{}</strong><br>{}<p class="help" style="margin-left:0">{}</p>',
            gettext("Since %(date)s: %(reason)s")
            % {
                "date": date_format(localtime(target.bouncing_since), "SHORT_DATETIME_FORMAT"),
                "reason": target.bounce_reason,
            },
            gettext("Letters to this target are kept for delivery by hand."),
            BY_HAND_NOTE,
        )

    @admin.action(description=_("The address works again: email letters to the chosen targets"))
    def clear_bounce_flag(self, request: HttpRequest, queryset: QuerySet[Target]) -> None:
        cleared = [target for target in queryset if self._clear(request, target, why="cleared by staff")]
        messages.success(
            request,
            ngettext(
                "%(count)d target will get its letters by email again.",
                "%(count)d targets will get their letters by email again.",
                len(cleared),
            )
            % {"count": len(cleared)},
        )

    @staticmethod
    def _clear(request: HttpRequest, target: Target, *, why: str) -> bool:
        if not bounces.clear(target=target):
            return False
        audit.record(
            actor=request.user,
            action=audit.EDITED,
            detail=f"target {target.email}: bounce flag {why} (was: {target.bounce_reason})"[:1000],
        )
        return True

    def save_model(self, request: HttpRequest, obj: Target, form: Any, change: bool) -> None:
        if change:
            before = Target.objects.filter(pk=obj.pk).values_list("email", "bouncing_since").first()
            fixed = bool(before and before[1] and normalize_email(obj.email) != before[0])
            if form.cleaned_data.get("clear_bounce") or fixed:
                self._clear(request, obj, why="address corrected" if fixed else "cleared by staff")
            # The form never holds the flag: save what the database says now (a bounce may have come meanwhile).
            obj.bouncing_since, obj.bounce_reason, obj.soft_bounces = Target.objects.filter(pk=obj.pk).values_list(
                "bouncing_since", "bounce_reason", "soft_bounces"
            )[0]
        super().save_model(request, obj, form, change)

    def has_import_permission(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def process_dataset(self, dataset: Any, form: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # All or nothing at commit too: a row that turned bad since the preview rolls back the whole file.
        kwargs.setdefault("rollback_on_validation_errors", True)
        return super().process_dataset(dataset, form, request, **kwargs)
