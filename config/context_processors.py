from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from config import open_graph


def site(request: HttpRequest) -> dict[str, object]:
    return {
        "ORG_NAME": settings.TOCSIN_ORG_NAME,
        "ORG_ADDRESS": settings.TOCSIN_ORG_ADDRESS,
        "SITE_URL": settings.SITE_URL,
        # Pages whose text is in one language of its own (an article, an action) pass their own.
        "og_locales": SimpleLazyObject(open_graph.for_the_active_language),
    }
