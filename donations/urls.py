from django.urls import path

from donations import webhooks

app_name = "donations"

urlpatterns = [
    # /donations/stripe/webhook/ for Stripe; other providers plug in by name (donations/providers/).
    path("<slug:provider>/webhook/", webhooks.provider_webhook, name="webhook"),
]
