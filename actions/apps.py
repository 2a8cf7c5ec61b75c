from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "actions"
    verbose_name = _("Actions")

    def ready(self) -> None:
        # Apps below actions hear from it through their registries and signals,
        # never by importing it.
        from django.db.models.signals import post_migrate

        from actions import audiences, bounces, campaign_reports, gdpr, personal, restoring, roles
        from actions.api.router import router
        from campaigns import restoring as after_restore
        from campaigns.api import options
        from campaigns.api.app import register_router
        from campaigns.events.bounces import returns
        from campaigns.reports import contributions
        from campaigns.sending import personal_links, plugins
        from subscribers.signals import person_erased, personal_data_requested

        register_router("", router)
        personal_links.register(personal.personalise)
        contributions.register(campaign_reports.acted_line)
        roles.contribute()
        after_restore.register("letters", restoring.hold_letters)
        returns.register(bounces.LETTER, bounces.letter_returned)
        returns.register(bounces.DIGEST, bounces.digest_returned)
        plugins.register_audience_filter(audiences.FILTER_NAME, audiences.acted_sql)
        plugins.register_audience_note(audiences.FILTER_NAME, audiences.audience_note)
        options.register(
            options.CampaignOption(
                "exclude_acted", audiences.check_slugs, audiences.save_exclude, audiences.read_exclude
            )
        )
        options.register(
            options.CampaignOption("only_acted", audiences.check_slugs, audiences.save_only, audiences.read_only)
        )
        post_migrate.connect(roles.ensure_roles_after_migrate, sender=self, dispatch_uid="actions.ensure_roles")
        personal_data_requested.connect(gdpr.export_signatures, dispatch_uid="actions.gdpr.export")
        person_erased.connect(gdpr.erase_signatures, dispatch_uid="actions.gdpr.erase")

    def seed_demo(self, **options: Any) -> str:
        """Called by ``manage.py seed_demo`` (campaigns) for every app that has it: fictional targets and actions."""
        from actions.demo import seed

        return seed(**options)
