from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


class SubscribersConfig(AppConfig):
    name = "subscribers"
    verbose_name = _("Supporters")

    def ready(self) -> None:
        from subscribers.dates import install_lenient_loaders

        connection_created.connect(install_lenient_loaders, dispatch_uid="tocsin-lenient-date-loaders")
