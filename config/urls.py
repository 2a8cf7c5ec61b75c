from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from campaigns.views import reports
from config import metrics, views

# Branded, translated error pages that need neither the database nor Redis (config/views.py
# error_page); a database that cannot be reached gets a 503 page (JSON under /api/).
handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler500 = "config.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    # Prometheus, behind TOCSIN_METRICS_TOKEN (config/metrics.py).
    path("metrics", metrics.metrics_view, name="metrics"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/2fa/", include("campaigns.staff.urls")),
    # Campaign reports live beside the campaign admin (campaigns/views/reports.py).
    path("admin/campaigns/campaign/<int:pk>/report/", admin.site.admin_view(reports.report), name="campaign_report"),
    path(
        "admin/campaigns/campaign/<int:pk>/report.csv",
        admin.site.admin_view(reports.report_csv),
        name="campaign_report_csv",
    ),
    path("admin/", admin.site.urls),
    # The JSON API (campaigns/api/, with the endpoints other apps register), its document and docs page.
    path("api/v1/", include(("campaigns.api.urls", "api"), namespace="api")),
    # Anymail's webhooks, wrapped so a malformed body is a 400 (campaigns/events/webhooks.py).
    path("anymail/", include("campaigns.events.webhooks")),
    # Payment-provider webhooks (Stripe: /donations/stripe/webhook/).
    path("donations/", include("donations.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("subscribers.urls")),
    path("", include("campaigns.urls")),
    # Petitions and letters: /act/<slug>/ (actions/views/).
    path("", include("actions.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
