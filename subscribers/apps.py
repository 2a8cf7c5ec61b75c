from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


class SubscribersConfig(AppConfig):
    name = "subscribers"
    verbose_name = _("Supporters")

    def ready(self) -> None:
        from subscribers.dates import install_lenient_loaders

        connection_created.connect(install_lenient_loaders, dispatch_uid="tocsin-lenient-date-loaders")

        # The services queue the emails' tasks by name (they cannot import
        # them: the tasks call the services); registered here, so every
        # process hands the outbox's rows to the task with its own options.
        from subscribers import tasks  # noqa: F401
