"""Signing on the action page and on the embedded form: the district step, errors as pages, thanks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from actions import services
from actions.districts import find_district
from actions.forms import EmbedSignatureForm, SignatureForm
from actions.models import Action, District, Signature, Target
from actions.views.showing import THANKS_SALT, action_context, action_for, page_language, render_action_page
from subscribers import captcha, consent_text

# The embedded form answers to the same Origin allow-list as the sign-up snippet.
from subscribers.origins import origin_allowed
from subscribers.ratelimit import RateLimited, check_signup_rate, client_ip

_DISTRICT_SALT = "actions.district-step"
# Long enough to read the list and pick; short enough that an old page is not replayed for days.
_DISTRICT_STEP_MAX_AGE = 3600


def _user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:500]


def rate_limited(request: HttpRequest, action: Action, error: RateLimited) -> HttpResponse:
    context = {"action": action, "retry_minutes": max(1, -(-error.retry_after // 60))}
    response = render(request, "actions/rate_limited.html", context, status=429)
    response["Retry-After"] = str(error.retry_after)
    return response


def _captcha_failed(request: HttpRequest) -> bool:
    if not captcha.captcha_enabled():
        return False
    token = request.POST.get(captcha.RESPONSE_FIELD, "")
    return not captcha.verify_turnstile(token=token, ip=client_ip(request))


def _thanks_redirect(action: Action, result: services.SignResult | None) -> HttpResponseRedirect:
    url = reverse("actions:thanks", args=[action.slug])
    if result is not None:
        opt_in = result.opt_in
        token = signing.dumps(
            {"s": result.signature.pk, "c": bool(opt_in and opt_in.outcome == "pending")}, salt=THANKS_SALT
        )
        url += "?" + urlencode({"s": token})
    # 303: the browser follows with a GET, so a reload never posts again.
    return HttpResponseRedirect(url, status=303)


def _district_choices(action: Action, districts: list[District]) -> list[dict[str, Any]]:
    """Each district offered, with the targets the letter would go to there (names help people choose)."""
    pool = Target.objects.filter(active=True, district__in=districts)
    if action.target_group_id:
        pool = pool.filter(groups=action.target_group_id)
    by_district: dict[int, list[Target]] = {}
    for target in pool.order_by("name"):
        by_district.setdefault(target.district_id or 0, []).append(target)
    return [{"district": district, "targets": by_district.get(district.pk, [])} for district in districts]


def _district_page(
    request: HttpRequest,
    action: Action,
    *,
    payload: dict[str, Any],
    need: services.DistrictChoiceNeeded,
    post_url: str,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        **action_context(action, preview=False),
        "postal_code": need.postal_code,
        "ambiguous": need.match.outcome == "ambiguous",
        "choices": _district_choices(action, need.choices),
        "signed": signing.dumps(payload, salt=_DISTRICT_SALT, compress=True),
        "post_url": post_url,
        "error": error,
    }
    return render(request, "actions/district.html", context, status=status)


def sign(
    request: HttpRequest,
    action: Action,
    *,
    data: dict[str, Any],
    meta: dict[str, Any],
    district_code: str,
    form: Any,
    post_url: str,
    page: Callable[..., HttpResponse] = render_action_page,
) -> HttpResponse:
    """Sign, and answer with the thanks, the district step, or ``page`` (the form again) with the errors."""
    payload = {"action": action.slug, "data": data, "meta": meta}
    try:
        result = services.sign(
            action=action,
            district_code=district_code,
            language=page_language(),
            ip=client_ip(request),
            user_agent=_user_agent(request),
            **data,
            **meta,
        )
    except services.DistrictChoiceNeeded as need:
        if not need.choices:
            form.add_error(
                "postal_code",
                translation.gettext(
                    "We cannot find the district of this postal code yet. Please check it, or write to us."
                ),
            )
            return page(request, action, form, status=400, post_url=post_url)
        return _district_page(request, action, payload=payload, need=need, post_url=post_url)
    except services.InvalidSignature as problem:
        if district_code and "district" in problem.errors:
            return _district_page(
                request,
                action,
                payload=payload,
                need=services.DistrictChoiceNeeded(find_district(data["postal_code"]), data["postal_code"]),
                post_url=post_url,
                error=" ".join(problem.errors["district"]),
                status=400,
            )
        for field, messages in problem.errors.items():
            for message in messages:
                form.add_error(field if field in form.fields else None, message)
        return page(request, action, form, status=400, post_url=post_url)
    except services.ActionNotOpen:
        return render_action_page(request, action, None, status=409, post_url=post_url)
    if not result.created:
        context = {**action_context(action, preview=False), "signature": result.signature, "opt_in": result.opt_in}
        return render(request, "actions/already_signed.html", context)
    return _thanks_redirect(action, result)


def district_step(request: HttpRequest, action: Action, *, post_url: str) -> HttpResponse:
    """The second POST: the supporter chose a district; everything else comes back signed from the first."""
    try:
        payload = signing.loads(request.POST.get("signed", ""), salt=_DISTRICT_SALT, max_age=_DISTRICT_STEP_MAX_AGE)
    except signing.BadSignature:
        payload = None
    if not isinstance(payload, dict) or payload.get("action") != action.slug:
        error = translation.gettext("This form is out of date: please fill it in again.")
        return render_action_page(
            request, action, SignatureForm(action=action), status=400, post_url=post_url, error=error
        )
    form = SignatureForm(initial=payload["data"], action=action)
    district_code = request.POST.get("district", "")
    if not district_code or len(district_code) > 32:
        need = services.DistrictChoiceNeeded(
            find_district(payload["data"]["postal_code"]), payload["data"]["postal_code"]
        )
        return _district_page(
            request,
            action,
            payload=payload,
            need=need,
            post_url=post_url,
            error=translation.gettext("Choose your district."),
            status=400,
        )
    return sign(
        request,
        action,
        data=payload["data"],
        meta=payload["meta"],
        district_code=district_code,
        form=form,
        post_url=post_url,
    )


def _handle_post(
    request: HttpRequest,
    action: Action,
    form: SignatureForm,
    *,
    source: str,
    page_url: str,
    wording_version: str,
    post_url: str,
) -> HttpResponse:
    if form.is_bot:
        # Same answer as a real signature, so the bot learns nothing.
        return _thanks_redirect(action, None)
    if _captcha_failed(request):
        form.add_error(None, translation.gettext("We could not check that you are a person. Please try again."))
    if not form.is_valid():
        return render_action_page(request, action, form, status=400, post_url=post_url)
    meta = {"source": source, "page_url": page_url[:500], "wording_version": wording_version}
    return sign(request, action, data=form.signing_data(), meta=meta, district_code="", form=form, post_url=post_url)


@never_cache
@require_http_methods(["GET", "POST"])
def page(request: HttpRequest, slug: str) -> HttpResponse:
    action, preview = action_for(request, slug)
    if request.method == "GET":
        return render_action_page(request, action, SignatureForm(action=action), preview=preview)
    try:
        check_signup_rate(request)
    except RateLimited as error:
        return rate_limited(request, action, error)
    post_url = action.get_absolute_url()
    if "signed" in request.POST:
        return district_step(request, action, post_url=post_url)
    return _handle_post(
        request,
        action,
        SignatureForm(request.POST, action=action),
        source=Signature.Source.FORM,
        page_url=request.build_absolute_uri(),
        wording_version=consent_text.CURRENT_VERSION,
        post_url=post_url,
    )


# Another site's page posts here, so there is no CSRF cookie to check. What
# protects it instead is what protects the embedded sign-up form: the Origin
# allow-list, the per-IP rate limits, the honeypot, the optional CAPTCHA, and
# double opt-in for any list ticked.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def embed_submit(request: HttpRequest, slug: str) -> HttpResponse:
    action, _preview = action_for(request, slug)
    if request.method == "GET":
        return HttpResponseRedirect(action.get_absolute_url())
    if not origin_allowed(request):
        return render(request, "subscribers/embed_forbidden.html", status=403)
    try:
        check_signup_rate(request)
    except RateLimited as error:
        return rate_limited(request, action, error)
    post_url = reverse("actions:embed_submit", args=[action.slug])
    if "signed" in request.POST:
        return district_step(request, action, post_url=post_url)
    form = EmbedSignatureForm(request.POST, action=action)
    page_url = request.POST.get("page_url", "") or request.META.get("HTTP_REFERER", "")
    wording_version = request.POST.get("wording_version", "")
    if wording_version not in consent_text.WORDINGS:
        wording_version = consent_text.CURRENT_VERSION
    return _handle_post(
        request,
        action,
        form,
        source=Signature.Source.EMBED,
        page_url=page_url if page_url.startswith(("http://", "https://")) else "",
        wording_version=wording_version,
        post_url=post_url,
    )
