from django.contrib.admin.apps import AdminConfig


class TocsinAdminConfig(AdminConfig):
    """Django's admin, with Tocsin's site (config/admin.py) as ``admin.site``."""

    default_site = "config.admin.TocsinAdminSite"

    def ready(self) -> None:
        super().ready()
        from anymail.signals import tracking

        from config.admin import name_security_apps
        from config.histograms import observe_webhook_lag

        name_security_apps()
        # config's one AppConfig: the webhook lag histogram (config/histograms.py) listens here.
        tracking.connect(observe_webhook_lag, dispatch_uid="config.histograms.observe_webhook_lag")
