"""The consent wording shown next to the sign-up button, versioned.

CASL and the GDPR ask us to prove what a person agreed to, so the Consent row
stores the exact text shown, in the language it was shown in, with its
version. A version is never edited or removed once it has been on a live
form: embedded snippets pasted on other sites keep posting the version they
were copied with, and old consent rows point at it. To change the wording,
add a new version and make it ``CURRENT_VERSION``.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

WORDINGS = {
    "2026-11": _(
        "Yes, I want to receive emails from %(org)s about the topics I ticked above: bulletins, "
        "urgent action alerts and occasional donation appeals. I can unsubscribe at any time with "
        "the link at the bottom of every email."
    ),
}
CURRENT_VERSION = "2026-11"


class UnknownWordingVersion(Exception):
    """A form posted a wording version this site never showed."""


def consent_wording(*, language: str, version: str = CURRENT_VERSION) -> str:
    """The exact sentence a person sees, rendered in ``language``."""
    try:
        template = WORDINGS[version]
    except KeyError:
        raise UnknownWordingVersion(version) from None
    with translation.override(language):
        return str(template) % {"org": settings.TOCSIN_ORG_NAME}
