"""The public action page ``/act/<slug>/``, its district step, thank-you page, counter and embed.

The views translate HTTP into ``actions.services.sign`` and its exceptions
into pages: a bad field is a form error (400), a postal code that matches
no district or several is a page asking the supporter to choose (nothing is
stored until they do), a repeat is a kind "you already signed" (200).
The same abuse rules as sign-up apply: per-IP rate limits, the honeypot,
the optional CAPTCHA, and on the embedded form the Origin allow-list.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.html import strip_tags
from django.utils.text import Truncator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from actions import services
from actions.districts import find_district
from actions.forms import EmbedSignatureForm, SignatureForm
from actions.models import Action, District, Signature, Target
from campaigns.content.articles import markdown_to_html
from config.csp import allow_style_attributes
from subscribers import captcha, consent_text

# The embedded form answers to the same Origin allow-list as the sign-up snippet.
from subscribers.origins import origin_allowed
from subscribers.ratelimit import RateLimited, check_signup_rate, client_ip

_DISTRICT_SALT = "actions.district-step"
_THANKS_SALT = "actions.thanks"
# Long enough to read the list and pick; short enough that an old page is not replayed for days.
_DISTRICT_STEP_MAX_AGE = 3600
_THANKS_MAX_AGE = 86400
_MAX_TARGETS_SHOWN = 12


def _language() -> str:
    language = translation.get_language() or settings.LANGUAGE_CODE
    codes = [code for code, _label in settings.LANGUAGES]
    return language if language in codes else settings.LANGUAGE_CODE


def _user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:500]


def _action_for(request: HttpRequest, slug: str) -> tuple[Action, bool]:
    """The action and whether this is a staff preview of a draft; 404 for a draft to anyone else."""
    action = Action.objects.filter(slug=slug).select_related("target_group").first()
    if action is None:
        raise Http404("no such action")
    if action.status == Action.Status.DRAFT:
        user = getattr(request, "user", None)
        if not (user and user.is_active and user.is_staff and user.has_perm("actions.view_action")):
            raise Http404("no such action")
        return action, True
    return action, False


def _canonical_url(action: Action) -> str:
    return settings.SITE_URL + action.get_absolute_url()


def _share_links(action: Action) -> list[tuple[str, str]]:
    url = _canonical_url(action)
    text = f"{action.title} {url}"
    return [
        (translation.gettext("Email"), "mailto:?" + urlencode({"subject": action.title, "body": url}, quote_via=quote)),
        ("WhatsApp", "https://wa.me/?" + urlencode({"text": text}, quote_via=quote)),
        ("Facebook", "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": url}, quote_via=quote)),
        ("X", "https://twitter.com/intent/tweet?" + urlencode({"text": action.title, "url": url}, quote_via=quote)),
        ("Bluesky", "https://bsky.app/intent/compose?" + urlencode({"text": text}, quote_via=quote)),
    ]


def _recipients(action: Action) -> dict[str, Any]:
    """Who letters go to, as the page explains it before anyone signs."""
    if not action.is_letter:
        return {}
    fixed = list(action.targets.filter(active=True).order_by("name"))
    group: list[Target] = []
    group_total = 0
    if action.target_group_id and not action.by_district:
        members = Target.objects.filter(active=True, groups=action.target_group_id).order_by("name")
        group_total = members.count()
        group = list(members[:_MAX_TARGETS_SHOWN])
    return {
        "fixed": fixed,
        "group": group,
        "group_more": max(0, group_total - len(group)),
        "by_district": action.by_district,
        "group_name": action.target_group.name if action.target_group_id and action.target_group else "",
    }


def _counter(action: Action) -> dict[str, Any]:
    count = services.signature_count(action)
    goal = action.goal or 0
    return {
        "count": count,
        "goal": goal,
        "percent": min(100, round(100 * count / goal)) if goal else None,
    }


def _context(action: Action, *, preview: bool) -> dict[str, Any]:
    body_html = markdown_to_html(action.body_markdown)
    return {
        "action": action,
        "preview": preview,
        "body_html": body_html,
        "description": Truncator(" ".join(strip_tags(body_html).split())).chars(200),
        "canonical_url": _canonical_url(action),
        "share_links": _share_links(action),
        "recipients": _recipients(action),
        **_counter(action),
    }


def _page(
    request: HttpRequest,
    action: Action,
    form: SignatureForm | None,
    *,
    preview: bool = False,
    status: int = 200,
    post_url: str | None = None,
    error: str = "",
) -> HttpResponse:
    context = {
        "page_error": error,
        **_context(action, preview=preview),
        "form": form if action.is_open or preview else None,
        "post_url": post_url or action.get_absolute_url(),
        "consent_wording": consent_text.consent_wording(language=_language()),
        "turnstile_site_key": settings.TURNSTILE_SITE_KEY if captcha.captcha_enabled() else "",
    }
    return render(request, "actions/page.html", context, status=status)


def _rate_limited(request: HttpRequest, action: Action, error: RateLimited) -> HttpResponse:
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
            {"s": result.signature.pk, "c": bool(opt_in and opt_in.outcome == "pending")}, salt=_THANKS_SALT
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
        **_context(action, preview=False),
        "postal_code": need.postal_code,
        "ambiguous": need.match.outcome == "ambiguous",
        "choices": _district_choices(action, need.choices),
        "signed": signing.dumps(payload, salt=_DISTRICT_SALT, compress=True),
        "post_url": post_url,
        "error": error,
    }
    return render(request, "actions/district.html", context, status=status)


def _sign(
    request: HttpRequest,
    action: Action,
    *,
    data: dict[str, Any],
    meta: dict[str, Any],
    district_code: str,
    form: SignatureForm,
    post_url: str,
) -> HttpResponse:
    payload = {"action": action.slug, "data": data, "meta": meta}
    try:
        result = services.sign(
            action=action,
            district_code=district_code,
            language=_language(),
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
            return _page(request, action, form, status=400, post_url=post_url)
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
        return _page(request, action, form, status=400, post_url=post_url)
    except services.ActionNotOpen:
        return _page(request, action, None, status=409, post_url=post_url)
    if not result.created:
        context = {**_context(action, preview=False), "signature": result.signature, "opt_in": result.opt_in}
        return render(request, "actions/already_signed.html", context)
    return _thanks_redirect(action, result)


def _district_step(request: HttpRequest, action: Action, *, post_url: str) -> HttpResponse:
    """The second POST: the supporter chose a district; everything else comes back signed from the first."""
    try:
        payload = signing.loads(request.POST.get("signed", ""), salt=_DISTRICT_SALT, max_age=_DISTRICT_STEP_MAX_AGE)
    except signing.BadSignature:
        payload = None
    if not isinstance(payload, dict) or payload.get("action") != action.slug:
        error = translation.gettext("This form is out of date: please fill it in again.")
        return _page(request, action, SignatureForm(action=action), status=400, post_url=post_url, error=error)
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
    return _sign(
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
        return _page(request, action, form, status=400, post_url=post_url)
    meta = {"source": source, "page_url": page_url[:500], "wording_version": wording_version}
    return _sign(request, action, data=form.signing_data(), meta=meta, district_code="", form=form, post_url=post_url)


@never_cache
@require_http_methods(["GET", "POST"])
def page(request: HttpRequest, slug: str) -> HttpResponse:
    action, preview = _action_for(request, slug)
    if request.method == "GET":
        return _page(request, action, SignatureForm(action=action), preview=preview)
    try:
        check_signup_rate(request)
    except RateLimited as error:
        return _rate_limited(request, action, error)
    post_url = action.get_absolute_url()
    if "signed" in request.POST:
        return _district_step(request, action, post_url=post_url)
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
    action, _preview = _action_for(request, slug)
    if request.method == "GET":
        return HttpResponseRedirect(action.get_absolute_url())
    if not origin_allowed(request):
        return render(request, "subscribers/embed_forbidden.html", status=403)
    try:
        check_signup_rate(request)
    except RateLimited as error:
        return _rate_limited(request, action, error)
    post_url = reverse("actions:embed_submit", args=[action.slug])
    if "signed" in request.POST:
        return _district_step(request, action, post_url=post_url)
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


@never_cache
def thanks(request: HttpRequest, slug: str) -> HttpResponse:
    action, _preview = _action_for(request, slug)
    signature = None
    confirm_pending = False
    token = request.GET.get("s", "")
    if token and len(token) < 500:
        try:
            claim = signing.loads(token, salt=_THANKS_SALT, max_age=_THANKS_MAX_AGE)
        except signing.BadSignature:
            claim = None
        signature_id = claim.get("s") if isinstance(claim, dict) else None
        if isinstance(signature_id, int) and isinstance(claim, dict):
            signature = (
                Signature.objects.filter(pk=signature_id, action=action, erased_at__isnull=True)
                .prefetch_related("letters__target")
                .first()
            )
            confirm_pending = bool(claim.get("c"))
    context = {**_context(action, preview=False), "signature": signature, "confirm_pending": confirm_pending}
    return render(request, "actions/thanks.html", context)


@require_http_methods(["GET", "HEAD"])
def count_json(request: HttpRequest, slug: str) -> JsonResponse:
    """A public counter for a thermometer on another site: cached for a minute, readable from any origin."""
    action = Action.objects.filter(slug=slug).exclude(status=Action.Status.DRAFT).first()
    if action is None:
        response = JsonResponse({"detail": "No such action."}, status=404)
    else:
        response = JsonResponse(
            {
                "slug": action.slug,
                "title": action.title,
                "kind": action.kind,
                "status": action.status,
                "count": services.signature_count(action, cached=True),
                "goal": action.goal,
                "url": _canonical_url(action),
            }
        )
        response["Cache-Control"] = "public, max-age=60"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def embed_snippet(request: HttpRequest, slug: str) -> HttpResponse:
    """The HTML snippet staff paste into another website, ready to copy."""
    action, _preview = _action_for(request, slug)
    form = SignatureForm(action=action)
    language = _language()
    snippet_context = {
        "action": action,
        "form": form,
        "submit_url": settings.SITE_URL + reverse("actions:embed_submit", args=[action.slug]),
        "count_url": settings.SITE_URL + reverse("actions:count_json", args=[action.slug]),
        "consent_wording": consent_text.consent_wording(language=language),
        "wording_version": consent_text.CURRENT_VERSION,
        "turnstile_site_key": settings.TURNSTILE_SITE_KEY if captcha.captcha_enabled() else "",
    }
    snippet = render_to_string("actions/embed_snippet.html", snippet_context, request=request)
    response = render(
        request,
        "actions/embed.html",
        {
            "action": action,
            "snippet": snippet,
            "count_url": snippet_context["count_url"],
            "allowed_origins": settings.TOCSIN_EMBED_ALLOWED_ORIGINS,
        },
    )
    # The preview shows the snippet as other sites will, with its one inline
    # style (the honeypot's): allowed by hash, that one only.
    return allow_style_attributes(response, snippet)
