from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from campaigns import checks  # noqa: F401  (registers the start-up checks)
        from campaigns.staff.roles import ensure_roles_after_migrate

        post_migrate.connect(ensure_roles_after_migrate, sender=self, dispatch_uid="campaigns.ensure_roles")

        # The ledger's counters (campaigns/counters.py): triggers in the database.
        from django.db.models.signals import post_delete

        from campaigns import counters
        from campaigns.models import Campaign

        post_migrate.connect(counters.install_after_migrate, sender=self, dispatch_uid="campaigns.counters")
        post_delete.connect(counters.forget_deleted_campaign, sender=Campaign, dispatch_uid="campaigns.counters")

        from anymail.signals import tracking

        from campaigns.events.recording import on_tracking

        tracking.connect(on_tracking, dispatch_uid="campaigns.events.recording.on_tracking")

        # Status changes ask for the workers by signal; the tasks layer above them queues the work.
        from campaigns import signals, tasks

        signals.sending_requested.connect(tasks.queue_send_work, dispatch_uid="campaigns.tasks.queue_send_work")

        # The API's own endpoints; apps above campaigns add theirs the same way from their ready().
        from campaigns.api.app import register_router
        from campaigns.api.views import router

        register_router("", router)

        # subscribers sits below campaigns: it tells, campaigns listens.
        from campaigns import people
        from campaigns.admin.people import campaigns_received
        from subscribers.admin.people import person_facts

        people.connect()
        if campaigns_received not in person_facts:
            person_facts.append(campaigns_received)
