"""How an action is shown: its page's context, the thank-you page, the public counter and the embed snippet."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core import signing
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.html import strip_tags
from django.utils.text import Truncator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from actions import services
from actions.forms import SignatureForm
from actions.models import Action, Signature, Target
from actions.translations import language_of, languages_of, localized
from campaigns.content.articles import markdown_to_html
from config import open_graph, rows
from config.csp import allow_style_attributes
from subscribers import captcha, consent_text

# The embedded form answers to the same Origin allow-list as the sign-up snippet.

THANKS_SALT = "actions.thanks"
_THANKS_MAX_AGE = 86400
_MAX_TARGETS_SHOWN = 12


def page_language() -> str:
    language = translation.get_language() or settings.LANGUAGE_CODE
    codes = [code for code, _label in settings.LANGUAGES]
    return language if language in codes else settings.LANGUAGE_CODE


def action_for(request: HttpRequest, slug: str) -> tuple[Action, bool]:
    """The action and whether this is a staff preview of a draft; 404 for a draft to anyone else."""
    action = _action_by_slug(slug)
    if action is None:
        raise Http404("no such action")
    preview = action.status == Action.Status.DRAFT
    if preview:
        user = getattr(request, "user", None)
        if not (user and user.is_active and user.is_staff and user.has_perm("actions.view_action")):
            raise Http404("no such action")
    # The page in the reader's language, when the action has that translation.
    return localized(action, page_language()), preview


def _action_by_slug(slug: str) -> Action | None:
    """The action, and whether it offers lists (the form needs to know on every view and post), in one query.

    Written as SQL: on the public page's busiest path the ORM spent ten times
    longer compiling this query (a join and an EXISTS) than the database took
    to answer it.
    """
    quote = connection.ops.quote_name
    # Names from the models; the slug as a parameter.
    sql = (
        f"SELECT {rows.columns(Action, 'a')},"  # noqa: S608
        f" EXISTS (SELECT 1 FROM {quote(Action.lists.through._meta.db_table)} l WHERE l.action_id = a.id)"
        f" FROM {quote(Action._meta.db_table)} a WHERE a.slug = %s"
    )
    return next(iter(rows.instances(Action, sql, [slug], extra=["offers_lists"])), None)


def canonical_url(action: Action) -> str:
    return settings.SITE_URL + action.get_absolute_url()


def _share_links(action: Action) -> list[tuple[str, str]]:
    url = canonical_url(action)
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
        # In the page's language: the group's translation, else its own name.
        "group_name": action.target_group.local_name if action.target_group_id and action.target_group else "",
    }


def _counter(action: Action) -> dict[str, Any]:
    count = services.signature_count(action)
    goal = action.goal or 0
    return {
        "count": count,
        "goal": goal,
        "percent": min(100, round(100 * count / goal)) if goal else None,
    }


def action_context(action: Action, *, preview: bool) -> dict[str, Any]:
    body_html = markdown_to_html(action.body_markdown)
    return {
        "action": action,
        "preview": preview,
        "body_html": body_html,
        "description": Truncator(" ".join(strip_tags(body_html).split())).chars(200),
        "canonical_url": canonical_url(action),
        "og_locales": open_graph.og_locales(language_of(action), languages_of(action)),
        "share_links": _share_links(action),
        "recipients": _recipients(action),
        **_counter(action),
    }


def render_action_page(
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
        **action_context(action, preview=preview),
        "form": form if action.is_open or preview else None,
        "post_url": post_url or action.get_absolute_url(),
        "consent_wording": consent_text.consent_wording(language=page_language()),
        "turnstile_site_key": settings.TURNSTILE_SITE_KEY if captcha.captcha_enabled() else "",
    }
    return render(request, "actions/page.html", context, status=status)


@never_cache
def thanks(request: HttpRequest, slug: str) -> HttpResponse:
    action, _preview = action_for(request, slug)
    signature = None
    confirm_pending = False
    token = request.GET.get("s", "")
    if token and len(token) < 500:
        try:
            claim = signing.loads(token, salt=THANKS_SALT, max_age=_THANKS_MAX_AGE)
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
    context = {**action_context(action, preview=False), "signature": signature, "confirm_pending": confirm_pending}
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
                "url": canonical_url(action),
            }
        )
        response["Cache-Control"] = "public, max-age=60"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def embed_snippet(request: HttpRequest, slug: str) -> HttpResponse:
    """The HTML snippet staff paste into another website, ready to copy."""
    action, _preview = action_for(request, slug)
    form = SignatureForm(action=action)
    language = page_language()
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
