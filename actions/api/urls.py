"""Mounted at /api/v1/ before campaigns' API, whose last pattern answers every other path with a JSON 404."""

from django.urls import path

from actions.api import views

app_name = "actions_api"

urlpatterns = [
    path("actions", views.actions, name="actions"),
    path("actions/<str:slug>", views.action_detail, name="action"),
    path("actions/<str:slug>/signatures", views.signatures, name="action-signatures"),
]
