from django.urls import path  # noqa: F401

app_name = "campaigns"

urlpatterns: list = [
    # public archive, articles, topics, feed (campaigns/views/public.py)
    # web version of a sent campaign (campaigns/views/web_version.py)
]
