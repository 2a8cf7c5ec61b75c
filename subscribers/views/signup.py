"""Sign-up page, embedded form endpoint, and the confirmation link.

The views only translate HTTP into service calls and domain exceptions into
pages. Every valid sign-up gets the same answer whatever the address's
history: the page must never tell a stranger who is on the list.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import get_language_info
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from config.csp import allow_style_attributes
from subscribers import captcha, consent_text, services
from subscribers.forms import PAGE_URL_LENGTH, EmbedSignupForm, SignupForm, clip_url
from subscribers.models import Consent, MailingList
from subscribers.origins import origin_allowed
from subscribers.ratelimit import RateLimited, check_signup_rate, client_ip

logger = logging.getLogger(__name__)


def _language_codes() -> set[str]:
    return {code for code, _label in settings.LANGUAGES}


def _language_codes_ordered() -> list[str]:
    return [code for code, _label in settings.LANGUAGES]


def _user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:500]


def _thanks_redirect(language: str | None) -> HttpResponseRedirect:
    url = reverse("subscribers:signup_thanks")
    if language in _language_codes():
        url += "?" + urlencode({"lang": language})
    # 303: the browser follows with a GET, so a reload never posts again.
    return HttpResponseRedirect(url, status=303)


def _rate_limited(request: HttpRequest, error: RateLimited) -> HttpResponse:
    response = render(
        request, "subscribers/signup_rate_limited.html", {"retry_minutes": max(1, -(-error.retry_after // 60))}
    )
    response.status_code = 429
    response["Retry-After"] = str(error.retry_after)
    return response


def _form_page(request: HttpRequest, form: SignupForm, *, status: int = 200) -> HttpResponse:
    language = translation.get_language() or settings.LANGUAGE_CODE
    context = {
        "form": form,
        "general_errors": form.general_errors() if form.is_bound else [],
        "consent_wording": consent_text.consent_wording(language=language),
        "turnstile_site_key": settings.TURNSTILE_SITE_KEY if captcha.captcha_enabled() else "",
    }
    return render(request, "subscribers/signup.html", context, status=status)


def _captcha_failed(request: HttpRequest) -> bool:
    if not captcha.captcha_enabled():
        return False
    token = request.POST.get(captcha.RESPONSE_FIELD, "")
    return not captcha.verify_turnstile(token=token, ip=client_ip(request))


def _handle_post(
    request: HttpRequest,
    form: SignupForm,
    *,
    source: str,
    page_url: str,
    wording_version: str,
    wording_language: str,
) -> HttpResponse:
    if form.is_bot:
        # Same answer as a real sign-up, so the bot learns nothing.
        return _thanks_redirect(request.POST.get("language"))
    if _captcha_failed(request):
        form.add_error(None, translation.gettext("We could not check that you are a person. Please try again."))
    if not form.is_valid():
        return _form_page(request, form, status=400)
    data = form.cleaned_data
    try:
        services.subscribe(
            email=data["email"],
            name=data.get("name") or "",
            language=data["language"],
            lists=list(data["lists"]),
            source=source,
            basis=Consent.Basis.EXPRESS,
            double_opt_in=True,
            wording_version=wording_version,
            wording_language=wording_language,
            page_url=page_url,
            ip=client_ip(request),
            user_agent=_user_agent(request),
        )
    except services.InvalidSignup as error:
        # The form checks the same things; this is the service's last word.
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return _form_page(request, form, status=400)
    return _thanks_redirect(data["language"])


@never_cache
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    language = translation.get_language() or settings.LANGUAGE_CODE
    if request.method == "GET":
        return _form_page(request, SignupForm(language=language))
    try:
        check_signup_rate(request)
    except RateLimited as error:
        return _rate_limited(request, error)
    form = SignupForm(request.POST, language=language)
    return _handle_post(
        request,
        form,
        source=Consent.Source.FORM,
        page_url=request.build_absolute_uri(),
        wording_version=consent_text.CURRENT_VERSION,
        wording_language=language if language in _language_codes() else settings.LANGUAGE_CODE,
    )


# Another site's page posts here, so there is no CSRF cookie to check. What
# protects it instead: the Origin allow-list (when set), the per-IP rate
# limits, the honeypot, the optional CAPTCHA and, above all, double opt-in:
# nobody is mailed more than a confirmation, at most once an hour.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def embed_submit(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return HttpResponseRedirect(reverse("subscribers:signup"))
    if not origin_allowed(request):
        return render(request, "subscribers/embed_forbidden.html", status=403)
    try:
        check_signup_rate(request)
    except RateLimited as error:
        return _rate_limited(request, error)
    language = translation.get_language() or settings.LANGUAGE_CODE
    form = EmbedSignupForm(request.POST, language=language)
    # The snippet says which wording it showed and in which language; an
    # invalid form is re-shown on our own page, every error visible there,
    # and our page's wording applies when the person sends it again.
    valid = form.is_valid()
    page_url = (form.cleaned_data.get("page_url") if valid else "") or clip_url(
        request.META.get("HTTP_REFERER", ""), PAGE_URL_LENGTH
    )
    wording_version = form.cleaned_data.get("wording_version") if valid else None
    wording_language = (
        (form.cleaned_data.get("wording_language") or form.cleaned_data.get("language")) if valid else None
    )
    return _handle_post(
        request,
        form,
        source=Consent.Source.EMBED,
        page_url=page_url,
        wording_version=wording_version or consent_text.CURRENT_VERSION,
        wording_language=wording_language or language,
    )


def signup_thanks(request: HttpRequest) -> HttpResponse:
    language = request.GET.get("lang", "")
    if language not in _language_codes():
        language = translation.get_language() or settings.LANGUAGE_CODE
    with translation.override(language):
        return render(request, "subscribers/signup_thanks.html")


def embed_snippet(request: HttpRequest) -> HttpResponse:
    """The HTML snippet staff paste into another website, ready to copy."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    lists = list(MailingList.objects.filter(public=True))
    snippet_context = {
        "action": settings.SITE_URL + reverse("subscribers:embed_submit"),
        "lists": lists,
        "languages": [
            (code, get_language_info(code)["name_local"].capitalize()) for code, _label in settings.LANGUAGES
        ],
        "language": language,
        "consent_wording": consent_text.consent_wording(language=language),
        "wording_version": consent_text.CURRENT_VERSION,
        "turnstile_site_key": settings.TURNSTILE_SITE_KEY if captcha.captcha_enabled() else "",
    }
    snippet = render_to_string("subscribers/embed_snippet.html", snippet_context, request=request)
    response = render(
        request,
        "subscribers/embed.html",
        {"snippet": snippet, "lists": lists, "allowed_origins": settings.TOCSIN_EMBED_ALLOWED_ORIGINS},
    )
    # The preview shows the snippet as other sites will, with its own inline
    # style (it cannot rely on our stylesheet there): allowed by hash, that one only.
    return allow_style_attributes(response, snippet)


# --- confirmation link ----------------------------------------------------------------------

_TOKEN_ERRORS: list[tuple[type[Exception], int, str]] = [
    # Order matters: ExpiredToken and SignupGone are InvalidTokens too.
    (services.ExpiredToken, 410, "expired"),
    (services.SignupGone, 410, "gone"),
    (services.AlreadyConfirmed, 409, "used"),
    (services.InvalidToken, 400, "invalid"),
]


def _token_error(request: HttpRequest, error: Exception) -> HttpResponse:
    for kind, status, reason in _TOKEN_ERRORS:
        if isinstance(error, kind):
            return render(request, "subscribers/confirm_error.html", {"reason": reason}, status=status)
    raise error


# The token in the URL is the secret; a CSRF cookie would add nothing but a
# 403 for people whose browser blocks cookies. GET never changes anything (mail
# scanners fetch links); only the button's POST confirms.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    if len(token) > 500:
        return _token_error(request, services.InvalidToken("too long"))
    try:
        if request.method == "GET":
            # In the language the sign-up asked for, with what the button will
            # apply: for someone already on the list it may change their name,
            # language or topics, so they see it before pressing.
            wanted = services.check_confirmation(token=token)
            with translation.override(wanted.language):
                context = {
                    "subscriber": wanted.subscriber,
                    "wanted": wanted,
                    "language_name": get_language_info(wanted.language)["name_local"].capitalize(),
                    "token": token,
                }
                return render(request, "subscribers/confirm.html", context)
        done = services.confirm(token=token, ip=client_ip(request), user_agent=_user_agent(request))
    except (services.InvalidToken, services.AlreadyConfirmed) as error:
        return _token_error(request, error)
    with translation.override(done.subscriber.language):
        context = {"subscriber": done.subscriber, "welcomed": done.welcomed}
        return render(request, "subscribers/confirm_done.html", context)
