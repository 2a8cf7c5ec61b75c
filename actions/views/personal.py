"""The personal link from a campaign: ``/act/<slug>/you/<token>/``.

GET shows the action, the reader's name as Tocsin has it and one button,
and changes nothing (mail scanners and link previews open every link). The
button's POST signs, with the subscriber's own address; a letter still
asks for a postal code when Tocsin does not know one, and goes through the
same district step as the public page.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from actions import personal
from actions.forms import PersonalSignForm
from actions.models import Action, Signature
from actions.translations import localized
from actions.views.showing import action_context, action_for
from actions.views.signing import district_step, rate_limited, sign
from campaigns.models import Campaign
from subscribers import consent_text
from subscribers.ratelimit import RateLimited, check_signup_rate


def _masked(email: str) -> str:
    """``lucia@example.org`` → ``l•••@example.org``: enough to recognise, little to a forwarded email's reader."""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


def _page(
    request: HttpRequest,
    action: Action,
    form: PersonalSignForm | None,
    *,
    reader: personal.Reader,
    status: int = 200,
    post_url: str = "",
) -> HttpResponse:
    context = {
        **action_context(action, preview=False),
        "form": form if action.is_open else None,
        "reader_name": reader.subscriber.name,
        "reader_email": _masked(reader.subscriber.email),
        "post_url": post_url or request.path,
    }
    return render(request, "actions/personal.html", context, status=status)


def _form(action: Action, reader: personal.Reader, data: Any = None) -> PersonalSignForm:
    return PersonalSignForm(
        data,
        action=action,
        name=reader.subscriber.name,
        postal_code=personal.known_postal_code(reader.subscriber),
    )


def _post(request: HttpRequest, action: Action, reader: personal.Reader) -> HttpResponse:
    try:
        check_signup_rate(request)
    except RateLimited as error:
        return rate_limited(request, action, error)
    if "signed" in request.POST:
        return district_step(request, action, post_url=request.path)
    form = _form(action, reader, request.POST)
    page = _page_for(reader)
    if not form.is_valid():
        return page(request, action, form, status=400, post_url=request.path)
    campaign_id = reader.campaign_id
    if campaign_id is not None and not Campaign.objects.filter(pk=campaign_id).exists():
        campaign_id = None  # the campaign was deleted since: the signature stands on its own
    meta = {
        "source": Signature.Source.LINK,
        "source_detail": f"campaign {campaign_id}" if campaign_id else "",
        "page_url": request.build_absolute_uri(action.get_absolute_url()),
        "wording_version": consent_text.CURRENT_VERSION,
        "campaign_id": campaign_id,
    }
    data = form.signing_data(email=reader.subscriber.email)
    return sign(request, action, data=data, meta=meta, district_code="", form=form, post_url=request.path, page=page)


def _page_for(reader: personal.Reader) -> Any:
    def page(request: HttpRequest, action: Action, form: Any, *, status: int = 200, post_url: str = "") -> HttpResponse:
        return _page(request, action, form, reader=reader, status=status, post_url=post_url)

    return page


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def personal_page(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    action, _preview = action_for(request, slug)
    reader = personal.read_token(action, token)
    if reader is None:
        context = action_context(action, preview=False)
        return render(request, "actions/personal_invalid.html", context, status=404)
    if request.method == "GET":  # a link scanner's HEAD is not a reader
        with contextlib.suppress(DatabaseError):  # best effort, as the click redirect: the page still shows
            personal.record_click(action, reader)
    # The reader's own language, whatever the browser says: the email was in it.
    with translation.override(reader.subscriber.language):
        action = localized(action, reader.subscriber.language)
        earlier = personal.earlier_signature(action, reader.subscriber)
        if earlier is not None:
            context = {**action_context(action, preview=False), "signature": earlier, "opt_in": None}
            return render(request, "actions/already_signed.html", context)
        if request.method == "POST":
            response = _post(request, action, reader)
        else:
            response = _page(request, action, _form(action, reader), reader=reader)
        response["Content-Language"] = reader.subscriber.language
        return response
