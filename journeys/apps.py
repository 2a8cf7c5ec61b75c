from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JourneysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "journeys"
    verbose_name = _("Journeys")

    def ready(self) -> None:
        # The apps below hear nothing of journeys: journeys listens to their signals.
        from django.db.models.signals import post_migrate

        from actions.signals import action_signed
        from campaigns import restoring as after_restore
        from campaigns.api.app import register_router
        from campaigns.reports import trails
        from donations.signals import donation_received
        from journeys import restoring, roles
        from journeys.api.router import router
        from journeys.services import entering
        from journeys.trails import report_trail
        from subscribers import signals

        register_router("", router)
        roles.contribute()
        after_restore.register("journeys", restoring.hold_journeys)
        trails.register(report_trail)
        post_migrate.connect(roles.ensure_roles_after_migrate, sender=self, dispatch_uid="journeys.ensure_roles")
        signals.subscription_confirmed.connect(entering.on_subscription_confirmed, dispatch_uid="journeys.enter.list")
        signals.person_left.connect(entering.on_person_left, dispatch_uid="journeys.leave.all")
        signals.subscriptions_ended.connect(entering.on_subscriptions_ended, dispatch_uid="journeys.leave.list")
        donation_received.connect(entering.on_donation_recorded, dispatch_uid="journeys.enter.donation")
        action_signed.connect(entering.on_action_signed, dispatch_uid="journeys.enter.action")

    def seed_demo(self, **options: Any) -> str:
        """Called by ``manage.py seed_demo`` for every app that has it: a welcome series on the demo lists."""
        from journeys.demo import seed

        return seed(**options)
