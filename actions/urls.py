from django.urls import path

from actions import views

app_name = "actions"

urlpatterns: list = [
    # the public action page, its district step and thank-you page (actions/views.py)
    path("act/<slug:slug>/", views.page, name="page"),
    path("act/<slug:slug>/thanks/", views.thanks, name="thanks"),
    path("act/<slug:slug>/count.json", views.count_json, name="count_json"),
    path("act/<slug:slug>/embed/", views.embed_snippet, name="embed"),
    path("act/<slug:slug>/embed/submit/", views.embed_submit, name="embed_submit"),
]
