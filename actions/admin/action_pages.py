"""Actions in the admin: writing one, opening and closing it, its counts, and delivering by hand."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from actions import delivery, services
from actions.admin import reports
from actions.admin.letter_delivery import DELIVERY_FIELDSET, LetterDeliveryMixin
from actions.admin.test_digest import TestDigestMixin
from actions.models import Action, ActionTranslation
from campaigns.content.articles import markdown_to_html
from campaigns.staff import audit
from campaigns.staff.roles import can_send


def _wide_titles(field: Any, name: str) -> Any:
    if name in ("title", "letter_subject") and field is not None:
        field.widget.attrs["size"] = 80  # a title is read whole, not in a 20-character window
    return field


class ActionTranslationInline(admin.StackedInline):
    model = ActionTranslation
    extra = 0
    fields = ("language", "title", "body_markdown", "letter_subject", "letter_body")
    verbose_name_plural = _("Translations (each supporter sees their language, or the action's own)")

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        return _wide_titles(super().formfield_for_dbfield(db_field, request, **kwargs), db_field.name)


@admin.register(Action)
class ActionAdmin(LetterDeliveryMixin, TestDigestMixin, admin.ModelAdmin):
    titles = {"add": _("Add an action"), "change": _("Edit action"), "view": _("View action")}
    inlines = [ActionTranslationInline]
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
        "test_mode_notice",
        "letters_by_target",
        "letter_counts_by_target",
        "test_digest",
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
        DELIVERY_FIELDSET,
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

    def get_fieldsets(self, request: HttpRequest, obj: Action | None = None) -> Any:
        # Only the buttons and links this person may use: a writer sees the counts, not the retry
        # buttons, nor the links to who signed (printable pages and CSVs).
        swaps = self.fields_for(request)
        if not request.user.has_perm("actions.view_signature"):
            swaps["deliver"] = None
        if obj is None or not obj.test_mode:
            swaps["test_mode_notice"] = None  # a row saying "—" beside the test mode box says nothing
        if obj is None or not obj.is_letter:
            swaps["test_digest"] = None
        fieldsets = []
        for name, options in super().get_fieldsets(request, obj):
            fields = [swaps.get(field, field) if isinstance(field, str) else field for field in options["fields"]]
            fieldsets.append((name, {**options, "fields": tuple(field for field in fields if field)}))
        return fieldsets

    def get_queryset(self, request: HttpRequest) -> QuerySet[Action]:
        return super().get_queryset(request).annotate(signature_count=Count("signatures"))

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        return _wide_titles(super().formfield_for_dbfield(db_field, request, **kwargs), db_field.name)

    @admin.display(description=_("signatures"), ordering="signature_count")
    def signature_total(self, action: Any) -> int:
        return int(action.signature_count)

    @admin.display(description=_("public page"))
    def public_page(self, action: Action) -> str:
        return format_html(
            '<a href="{}">/act/{}/</a> · <a href="{}">{}</a>',
            action.get_absolute_url(),
            action.slug,
            reverse("admin:actions_action_report", args=[action.pk]),
            _("report"),
        )

    @admin.display(description=_("counts"))
    def counts(self, action: Action) -> str:
        if action.pk is None:
            return "—"
        letters = services.letter_counts(action)
        return str(
            _(
                "%(signatures)d signature(s); letters: %(sent)d sent, %(pending)d pending, %(failed)d failed, "
                "%(unknown)d unknown, %(by_hand)d for delivery by hand"
            )
            % {"signatures": services.signature_count(action), **letters}
        )

    @admin.display(description=_("deliver by hand"))
    def deliver(self, action: Action) -> str:
        if action.pk is None:
            return "—"
        if action.is_letter:
            return format_html(
                '{} <a href="{}">{}</a> · <a href="{}">CSV</a>',
                _("Letters to targets that take no email, or whose address bounces:"),
                reverse("admin:actions_action_by_hand", args=[action.pk]),
                _("printable page"),
                reverse("admin:actions_action_by_hand_csv", args=[action.pk]),
            )
        return format_html(
            '{} <a href="{}">{}</a> · <a href="{}">CSV</a>',
            _("The petition with its signatures:"),
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
            path("<int:pk>/report/", view(reports.report), name="actions_action_report"),
            path("<int:pk>/report.csv", view(reports.report_csv), name="actions_action_report_csv"),
            path("<int:pk>/print/", view(self.print_petition), name="actions_action_print"),
            path("<int:pk>/signatures.csv", view(self.petition_csv), name="actions_action_signatures_csv"),
            path("<int:pk>/by-hand/", view(self.print_by_hand), name="actions_action_by_hand"),
            path("<int:pk>/by-hand.csv", view(self.by_hand_csv), name="actions_action_by_hand_csv"),
            *self.letter_delivery_urls(),
            *self.test_digest_urls(),
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

    def has_publish_permission(self, request: HttpRequest) -> bool:
        # Opening an action publishes it and starts letters to the targets: as sending a campaign is,
        # it is for senders and admins, not writers.
        return can_send(request.user)

    @admin.action(description=_("Open the selected actions (they take signatures)"), permissions=["publish"])
    def open_actions(self, request: HttpRequest, queryset: QuerySet[Action]) -> None:
        self._move(request, queryset, Action.Status.OPEN)

    @admin.action(description=_("Close the selected actions"), permissions=["publish"])
    def close_actions(self, request: HttpRequest, queryset: QuerySet[Action]) -> None:
        self._move(request, queryset, Action.Status.CLOSED)
