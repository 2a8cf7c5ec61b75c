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
        from actions import gdpr, personal
        from actions.api.router import router
        from campaigns.api.app import register_router
        from campaigns.sending import personal_links
        from subscribers.signals import person_erased, personal_data_requested

        register_router("", router)
        personal_links.register(personal.personalise)
        personal_data_requested.connect(gdpr.export_signatures, dispatch_uid="actions.gdpr.export")
        person_erased.connect(gdpr.erase_signatures, dispatch_uid="actions.gdpr.erase")

    def seed_demo(self, **options: Any) -> str:
        """Called by ``manage.py seed_demo`` (campaigns) for every app that has it: fictional targets and actions."""
        from actions.demo import seed

        return seed(**options)
