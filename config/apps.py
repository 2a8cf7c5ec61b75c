from django.contrib.admin.apps import AdminConfig


class TocsinAdminConfig(AdminConfig):
    """Django's admin, with Tocsin's site (config/admin.py) as ``admin.site``."""

    default_site = "config.admin.TocsinAdminSite"

    def ready(self) -> None:
        super().ready()
        from config.admin import name_security_apps

        name_security_apps()
