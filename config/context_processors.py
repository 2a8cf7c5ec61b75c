from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    return {
        "ORG_NAME": settings.TOCSIN_ORG_NAME,
        "ORG_ADDRESS": settings.TOCSIN_ORG_ADDRESS,
        "SITE_URL": settings.SITE_URL,
    }
