"""Actions in the admin: targets (with the CSV import), districts, actions, signatures, letters.

The targets import (django-import-export) shows a dry run first: every row
with its values, old and new for a target that already exists, and a
per-row error report; "Confirm import" appears only for a file with no bad
row and commits it in one transaction. Rows go through the same checks as
``manage.py import_targets`` (actions/importing/).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources
from import_export.admin import ImportMixin
from import_export.formats import base_formats

from actions import delivery, services
from actions.importing import (
    TARGET_COLUMNS,
    TARGET_REQUIRED,
    InvalidRow,
    ensure_district,
    ensure_groups,
    parse_target_row,
)
from actions.models import Action, District, Letter, PostalPrefix, Signature, Target, TargetGroup
from campaigns.content.articles import markdown_to_html
from campaigns.staff import audit
from subscribers.models import normalize_email
from subscribers.services.privacy import erased_email
from subscribers.text import text_problem


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


class PostalPrefixInline(admin.TabularInline):
    model = PostalPrefix
    extra = 0


@admin.register(TargetGroup)
class TargetGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "size")
    search_fields = ("name", "slug")

    def get_queryset(self, request: HttpRequest) -> QuerySet[TargetGroup]:
        return super().get_queryset(request).annotate(target_count=Count("targets"))

    @admin.display(description=_("targets"), ordering="target_count")
    def size(self, group: Any) -> int:
        return int(group.target_count)


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "province")
    search_fields = ("name", "code", "postal_prefixes__prefix")
    list_filter = ("province",)
    inlines = [PostalPrefixInline]


@admin.register(PostalPrefix)
class PostalPrefixAdmin(admin.ModelAdmin):
    list_display = ("prefix", "district")
    search_fields = ("prefix", "district__name", "district__code")
    list_select_related = ("district",)
    raw_id_fields = ("district",)


@admin.register(Target)
class TargetAdmin(ImportMixin, admin.ModelAdmin):  # type: ignore[misc]  # the two stubs type change_list_template apart
    resource_classes = [TargetResource]
    import_formats = [base_formats.CSV]
    list_display = ("name", "title", "email", "district", "province", "party", "do_not_email", "active")
    list_filter = ("groups", "province", "party", "language", "do_not_email", "active")
    search_fields = ("name", "email", "title", "district__name", "district__code", "party")
    list_select_related = ("district",)
    filter_horizontal = ("groups",)
    raw_id_fields = ("district",)
    readonly_fields = ("created_at", "updated_at")

    def has_import_permission(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def process_dataset(self, dataset: Any, form: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # All or nothing at commit too: a row that turned bad since the preview rolls back the whole file.
        kwargs.setdefault("rollback_on_validation_errors", True)
        return super().process_dataset(dataset, form, request, **kwargs)


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "status", "signature_total", "goal", "public_page", "created_at")
    list_filter = ("kind", "status")
    search_fields = ("title", "slug")
    prepopulated_fields = {"slug": ("title",)}
    filter_horizontal = ("lists", "targets")
    readonly_fields = (
        "status",
        "created_at",
        "updated_at",
        "opened_at",
        "closed_at",
        "created_by",
        "counts",
        "deliver",
    )
    actions = ["open_actions", "close_actions"]
    fieldsets = [
        (None, {"fields": ("kind", "title", "slug", "body_markdown", "goal", "share_image_url", "lists")}),
        (
            _("Letter"),
            {
                "fields": ("letter_subject", "letter_body", "edit_policy", "edit_limit"),
                "description": _("Only for letters to decision-makers."),
            },
        ),
        (_("Who the letter goes to"), {"fields": ("target_group", "by_district", "targets")}),
        (
            _("Status"),
            {
                "fields": (
                    "status",
                    "counts",
                    "deliver",
                    "created_by",
                    "created_at",
                    "opened_at",
                    "closed_at",
                    "updated_at",
                )
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Action]:
        return super().get_queryset(request).annotate(signature_count=Count("signatures"))

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name in ("title", "letter_subject") and field is not None:
            field.widget.attrs["size"] = 80  # a title is read whole, not in a 20-character window
        return field

    @admin.display(description=_("signatures"), ordering="signature_count")
    def signature_total(self, action: Any) -> int:
        return int(action.signature_count)

    @admin.display(description=_("public page"))
    def public_page(self, action: Action) -> str:
        return format_html('<a href="{}">/act/{}/</a>', action.get_absolute_url(), action.slug)

    @admin.display(description=_("counts"))
    def counts(self, action: Action) -> str:
        if action.pk is None:
            return "—"
        letters = services.letter_counts(action)
        return str(
            _(
                "%(signatures)d signature(s); letters: %(sent)d sent, %(pending)d pending, %(failed)d failed, "
                "%(by_hand)d for delivery by hand"
            )
            % {"signatures": services.signature_count(action), **letters}
        )

    @admin.display(description=_("deliver by hand"))
    def deliver(self, action: Action) -> str:
        if action.pk is None:
            return "—"
        if action.is_letter:
            return format_html(
                '{}: <a href="{}">{}</a> · <a href="{}">CSV</a>',
                _("Letters to targets that take no email"),
                reverse("admin:actions_action_by_hand", args=[action.pk]),
                _("printable page"),
                reverse("admin:actions_action_by_hand_csv", args=[action.pk]),
            )
        return format_html(
            '{}: <a href="{}">{}</a> · <a href="{}">CSV</a>',
            _("The petition with its signatures"),
            reverse("admin:actions_action_print", args=[action.pk]),
            _("printable page"),
            reverse("admin:actions_action_signatures_csv", args=[action.pk]),
        )

    def save_model(self, request: HttpRequest, obj: Action, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    # --- what staff deliver in person (actions/delivery.py) ---------------------------------

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/print/", view(self.print_petition), name="actions_action_print"),
            path("<int:pk>/signatures.csv", view(self.petition_csv), name="actions_action_signatures_csv"),
            path("<int:pk>/by-hand/", view(self.print_by_hand), name="actions_action_by_hand"),
            path("<int:pk>/by-hand.csv", view(self.by_hand_csv), name="actions_action_by_hand_csv"),
            *super().get_urls(),
        ]

    def _exported(self, request: HttpRequest, pk: int, what: str) -> Action:
        """The action, for someone allowed to see signatures; each export goes to the audit log."""
        if not request.user.has_perm("actions.view_signature"):
            raise PermissionDenied
        action = get_object_or_404(Action, pk=pk)
        audit.record(actor=request.user, action=audit.EXPORTED, detail=f"{what}: action {action.slug}")
        return action

    def _print_context(self, request: HttpRequest, action: Action) -> dict[str, Any]:
        return {
            "action": action,
            "printed_at": timezone.now(),
            "count": services.signature_count(action),
            "body_html": markdown_to_html(action.body_markdown),
            "org_name": settings.TOCSIN_ORG_NAME,
            "org_address": settings.TOCSIN_ORG_ADDRESS,
        }

    def print_petition(self, request: HttpRequest, pk: int) -> TemplateResponse:
        action = self._exported(request, pk, "petition (printable)")
        context = {**self._print_context(request, action), "signatures": delivery.petition_signatures(action)}
        return TemplateResponse(request, "actions/admin/petition_print.html", context)

    def petition_csv(self, request: HttpRequest, pk: int) -> HttpResponse:
        action = self._exported(request, pk, "petition (CSV)")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{action.slug}-signatures.csv"'
        delivery.write_petition_csv(action, response)
        return response

    def print_by_hand(self, request: HttpRequest, pk: int) -> TemplateResponse:
        action = self._exported(request, pk, "letters by hand (printable)")
        context = {**self._print_context(request, action), "groups": delivery.letters_by_hand(action)}
        return TemplateResponse(request, "actions/admin/by_hand_print.html", context)

    def by_hand_csv(self, request: HttpRequest, pk: int) -> HttpResponse:
        action = self._exported(request, pk, "letters by hand (CSV)")
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{action.slug}-letters-by-hand.csv"'
        delivery.write_by_hand_csv(action, response)
        return response

    def _move(self, request: HttpRequest, queryset: QuerySet[Action], to: str) -> None:
        moved = 0
        for action in queryset:
            if action.is_letter and to == Action.Status.OPEN:
                problems = services.check_letter_setup(
                    kind=action.kind,
                    letter_subject=action.letter_subject,
                    letter_body=action.letter_body,
                    target_group=action.target_group,
                    by_district=action.by_district,
                    has_fixed_targets=action.targets.exists(),
                )
                if problems:
                    message = " ".join(" ".join(items) for items in problems.values())
                    self.message_user(request, f"{action}: {message}", messages.ERROR)
                    continue
            try:
                services.change_status(action=action, to=to)
                moved += 1
            except services.TransitionNotAllowed as refused:
                self.message_user(request, f"{action}: {refused}", messages.WARNING)
        if moved:
            self.message_user(request, _("%(count)d action(s) changed.") % {"count": moved}, messages.SUCCESS)

    @admin.action(description=_("Open the selected actions (they take signatures)"))
    def open_actions(self, request: HttpRequest, queryset: QuerySet[Action]) -> None:
        self._move(request, queryset, Action.Status.OPEN)

    @admin.action(description=_("Close the selected actions"))
    def close_actions(self, request: HttpRequest, queryset: QuerySet[Action]) -> None:
        self._move(request, queryset, Action.Status.CLOSED)


class LetterInline(admin.TabularInline):
    model = Letter
    extra = 0
    can_delete = False
    fields = ("target", "status", "sent_at", "error")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "action", "postal_code", "district", "source", "created_at")
    list_filter = ("action", "source", "language")
    search_fields = ("email", "name", "postal_code")
    list_select_related = ("action", "district")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Signature._meta.fields]
    inlines = [LetterInline]
    actions = ["erase_people"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Signatures are evidence of what a person did: only the person adds one.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Erase these people's data from their signatures (GDPR)"), permissions=["delete"])
    def erase_people(self, request: HttpRequest, queryset: QuerySet[Signature]) -> None:
        erased = 0
        for email in sorted(set(queryset.filter(erased_at__isnull=True).values_list("email", flat=True))):
            erased += services.erase_signatures(email=email, replacement_email=erased_email(email))
        self.message_user(
            request, _("%(count)d signature(s) erased; the counts stay.") % {"count": erased}, messages.SUCCESS
        )


@admin.register(Letter)
class LetterAdmin(admin.ModelAdmin):
    list_display = ("signature", "target", "action", "status", "sent_at")
    list_filter = ("status", "action")
    search_fields = ("target__name", "target__email", "signature__email")
    list_select_related = ("signature", "target", "action")
    readonly_fields = [field.name for field in Letter._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
