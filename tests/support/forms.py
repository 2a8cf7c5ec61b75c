"""What the admin's forms post: a valid form, to change one field of in a test."""

from __future__ import annotations


def form_data(**fields: str) -> dict[str, str]:
    """What the admin's campaign form posts for a plain bulletin, with ``fields`` changed."""
    data = {
        "kind": "bulletin",
        "language": "en",
        "subject": "Weekly bulletin",
        "preheader": "",
        "intro_markdown": "",
        "body_markdown": 'Hello {{ name|default:"friend" }}.',
        "call_to_action_text": "",
        "call_to_action_url": "",
        "from_name": "",
        "from_email": "",
        "reply_to": "",
        "tracking_enabled": "on",
        "campaignarticle_set-TOTAL_FORMS": "0",
        "campaignarticle_set-INITIAL_FORMS": "0",
        "translations-TOTAL_FORMS": "0",
        "translations-INITIAL_FORMS": "0",
        # The audience by action, an inline the actions app adds to this form.
        "acted_audience-TOTAL_FORMS": "0",
        "acted_audience-INITIAL_FORMS": "0",
    }
    data.update(fields)
    return data


def change_url(made: object) -> str:
    """The admin's change page of a campaign."""
    return f"/admin/campaigns/campaign/{made.pk}/change/"  # type: ignore[attr-defined]
