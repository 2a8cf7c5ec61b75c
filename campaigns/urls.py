from django.urls import path

from campaigns.content.feeds import ArticlesFeed
from campaigns.views import public
from campaigns.views import tracking as tracking_views
from campaigns.views import web_version as web_version_views

app_name = "campaigns"

urlpatterns: list = [
    # public archive, articles, topics, feed (campaigns/views/public.py)
    path("articles/", public.archive, name="archive"),
    path("articles/<slug:slug>/", public.article_detail, name="article"),
    path("topics/", public.topic_index, name="topics"),
    path("topics/<slug:slug>/", public.topic_detail, name="topic"),
    path("bulletins/", public.bulletins, name="bulletins"),
    path("feed/", ArticlesFeed(), name="feed"),
    path("feed/<str:language>/", ArticlesFeed(), name="feed_language"),
    # web version of a sent campaign (campaigns/views/web_version.py)
    path("bulletins/<str:code>/", web_version_views.web_version, name="web_version"),
    # first-party click redirect and open pixel (campaigns/views/tracking.py)
    path("t/c/<str:token>/", tracking_views.click, name="track_click"),
    path("t/o/<str:token>.gif", tracking_views.open_pixel, name="track_open"),
]
