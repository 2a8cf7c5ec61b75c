"""/api/v1/: the ninja API's routes, then a JSON 404 for every other path."""

from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from campaigns.api.app import api


@csrf_exempt
def not_found(request: HttpRequest, **kwargs: object) -> JsonResponse:
    return JsonResponse({"detail": _("No such endpoint: see /api/v1/openapi.json.")}, status=404)


# ninja's own root page only says where the docs are, as a 404: ours says it in JSON.
urlpatterns: list[URLPattern | URLResolver] = [
    *(pattern for pattern in api.urls[0] if getattr(pattern, "name", None) != "api-root"),
    re_path(r"^$", not_found, name="api-root"),
    # API clients read JSON, also when they mistype a path.
    # [\s\S], not ".": a path with a line break in it is an API path too.
    re_path(r"^[\s\S]*$", not_found),
]
