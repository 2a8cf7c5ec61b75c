from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from campaigns.views.public import home_context


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", home_context(request))


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})
