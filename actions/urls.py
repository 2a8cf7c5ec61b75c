from django.urls import path

from actions.views import personal, showing, signing

app_name = "actions"

urlpatterns: list = [
    # the public action page, its district step and thank-you page (actions/views/)
    path("act/<slug:slug>/", signing.page, name="page"),
    path("act/<slug:slug>/you/<str:token>/", personal.personal_page, name="personal"),
    path("act/<slug:slug>/thanks/", showing.thanks, name="thanks"),
    path("act/<slug:slug>/count.json", showing.count_json, name="count_json"),
    path("act/<slug:slug>/embed/", showing.embed_snippet, name="embed"),
    path("act/<slug:slug>/embed/submit/", signing.embed_submit, name="embed_submit"),
]
