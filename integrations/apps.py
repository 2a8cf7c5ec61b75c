from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        # The apps below announce their events with signals and take the API's
        # routers through a registry: none of them imports integrations.
        from django.db.models.signals import post_migrate

        from campaigns.api.app import register_router
        from campaigns.staff.roles import ensure_roles_after_migrate
        from integrations import receivers
        from integrations.api import router

        receivers.connect()
        register_router("", router)
        # The admin role holds every permission: give it this app's too, once
        # migrate has created them (after campaigns' own post_migrate).
        post_migrate.connect(ensure_roles_after_migrate, sender=self, dispatch_uid="integrations.ensure_roles")
