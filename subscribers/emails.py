"""Transactional emails (confirmation, welcome…): one builder, one wrapper each.

Templates live in ``templates/emails/<name>-subject.txt``, ``-body.txt`` and
``-body.html``, and are rendered in the recipient's language.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from subscribers.text import squash_spaces


def make_message(name: str, to: str, context: dict[str, Any], *, language: str = "en") -> EmailMultiAlternatives:
    base = {
        "ORG_NAME": settings.TOCSIN_ORG_NAME,
        "ORG_ADDRESS": settings.TOCSIN_ORG_ADDRESS,
        "SITE_URL": settings.SITE_URL,
    }
    context = {**base, **context}
    with translation.override(language):
        # A subject is one line: a newline there would be a header injection.
        subject = squash_spaces(render_to_string(f"emails/{name}-subject.txt", context))
        text = render_to_string(f"emails/{name}-body.txt", context)
        html = render_to_string(f"emails/{name}-body.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    return message
