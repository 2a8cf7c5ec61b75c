from django.urls import path, re_path

from campaigns.api import views

app_name = "api"

urlpatterns = [
    path("openapi.json", views.openapi, name="openapi"),
    path("lists", views.lists, name="lists"),
    path("subscribers", views.subscribers, name="subscribers"),
    path("campaigns", views.campaigns, name="campaigns"),
    path("campaigns/<int:pk>", views.campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/send", views.campaign_send, name="campaign-send"),
    path("campaigns/<int:pk>/pause", views.campaign_pause, name="campaign-pause"),
    path("campaigns/<int:pk>/resume", views.campaign_resume, name="campaign-resume"),
    path("campaigns/<int:pk>/cancel", views.campaign_cancel, name="campaign-cancel"),
    path("campaigns/<int:pk>/submit", views.campaign_submit, name="campaign-submit"),
    path("campaigns/<int:pk>/approve", views.campaign_approve, name="campaign-approve"),
    # API clients read JSON, also when they mistype a path.
    # [\s\S], not ".": a path with a line break in it is an API path too.
    re_path(r"^[\s\S]*$", views.not_found),
]
