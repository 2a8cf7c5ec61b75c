"""The OpenAPI 3 description of /api/v1/, written by hand next to the views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from campaigns.api.validation import MOMENT_PATTERN, SLUG_PATTERN
from subscribers.dates import EARLIEST, LATEST
from subscribers.text import schema_pattern

LANGUAGES = [code for code, _label in settings.LANGUAGES]
STATUSES = ["draft", "review", "approved", "scheduled", "sending", "paused", "sent", "cancelled"]


def _text(max_length: int, *, single_line: bool = True, required: bool = False, **extra: Any) -> dict[str, Any]:
    """A string as campaigns/api/validation.py's ``text`` accepts it (rules of subscribers/text.py)."""
    schema = {
        "type": "string",
        "maxLength": max_length,
        "pattern": schema_pattern(single_line=single_line, required=required),
        **extra,
    }
    if not required:
        # An optional field sent as null counts as left out.
        schema["nullable"] = True
    return schema


def _optional(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


_SLUGS = {
    "type": "array",
    "items": {"type": "string", "pattern": SLUG_PATTERN},
    "minItems": 1,
    "maxItems": 100,
    "description": "List slugs (GET /lists); an unknown one is a 400.",
}
_MOMENT = {
    "type": "string",
    "maxLength": 64,
    "pattern": MOMENT_PATTERN,
    "nullable": True,
    "description": "ISO-8601, e.g. 2026-05-01T09:00:00-05:00; without an offset, the organisation's time zone "
    f"({settings.TIME_ZONE}). Between {EARLIEST.isoformat()} and {LATEST.isoformat()}.",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


# The code accepts exactly the fields it reads (campaigns/api/validation.py
# ``Body``): every input object says additionalProperties: false.


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ref("ValidationError"), "Invalid input: every problem, by field."),
    "401": _json(_ref("Error"), "No token, or not a valid one."),
    "403": _json(_ref("Error"), "The token's user lacks the permission."),
}


def _campaign_step(summary: str, description: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "description": description,
        "parameters": [{"$ref": "#/components/parameters/CampaignId"}],
        "responses": {
            "202": _json(_ref("Campaign"), "Accepted; the campaign as it is now."),
            "404": _json(_ref("Error"), "No such campaign."),
            "409": _json(_ref("Error"), "The campaign's state does not allow it (the reason is in detail)."),
            **_ERRORS,
        },
    }
    if body:
        operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
    return operation


def openapi_schema(request: HttpRequest | None = None) -> dict[str, Any]:
    server = f"{settings.SITE_URL}/api/v1"
    schema: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {
            "title": "Tocsin API",
            "version": "1.0.0",
            "description": (
                "Lists, subscribers and campaigns. Authenticate with `Authorization: Bearer <token>` "
                "(`manage.py create_api_token --user USERNAME`); a token acts with its user's role: "
                "writers create drafts, senders also send, pause, resume and cancel, admins also add subscribers."
            ),
        },
        "servers": [{"url": server}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/lists": {
                "get": {
                    "summary": "The mailing lists",
                    "responses": {
                        "200": _json({"type": "array", "items": _ref("MailingList")}, "Every list."),
                        **_ERRORS,
                    },
                }
            },
            "/subscribers": {
                "post": {
                    "summary": "Add a subscriber with the consent they gave",
                    "description": (
                        "Without double_opt_in the person is confirmed at once and the consent source is "
                        "recorded as evidence; with double_opt_in: true they stay pending and get a "
                        "confirmation email. An existing address answers 200 with its id, the lists added. "
                        "An address that unsubscribed, bounced or complained is never added back (409)."
                    ),
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("SubscriberInput")}},
                    },
                    "responses": {
                        "201": _json(_ref("SubscriberCreated"), "Created."),
                        "200": _json(_ref("SubscriberCreated"), "Already known: lists added."),
                        "409": _json(_ref("Error"), "The address left and is suppressed."),
                        **_ERRORS,
                    },
                }
            },
            "/campaigns": {
                "post": {
                    "summary": "Create a campaign draft",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("CampaignInput")}},
                    },
                    "responses": {
                        "201": _json(
                            {"type": "object", "properties": {"id": {"type": "integer"}, "status": {"type": "string"}}},
                            "Created as a draft.",
                        ),
                        **_ERRORS,
                    },
                }
            },
            "/campaigns/{id}": {
                "get": {
                    "summary": "A campaign and its delivery counts",
                    "parameters": [{"$ref": "#/components/parameters/CampaignId"}],
                    "responses": {
                        "200": _json(_ref("Campaign"), "The campaign."),
                        "404": _json(_ref("Error"), "No such campaign."),
                        **_ERRORS,
                    },
                }
            },
            "/campaigns/{id}/send": {
                "post": _campaign_step(
                    "Send now, or schedule",
                    "With `at` (ISO-8601) the campaign is scheduled; a time without an offset is in the "
                    f"organisation's time zone ({settings.TIME_ZONE}); a time in the past is a 400. "
                    "When approval is required (TOCSIN_REQUIRE_APPROVAL) and the campaign is not approved, 409.",
                    {"type": "object", "properties": {"at": _MOMENT}, "additionalProperties": False},
                )
            },
            "/campaigns/{id}/pause": {"post": _campaign_step("Pause sending", "Only while sending.")},
            "/campaigns/{id}/resume": {"post": _campaign_step("Resume sending", "Only while paused.")},
            "/campaigns/{id}/cancel": {"post": _campaign_step("Cancel", "Before or during sending.")},
            "/campaigns/{id}/submit": {
                "post": _campaign_step("Submit a draft for review", "The first step when approval is required.")
            },
            "/campaigns/{id}/approve": {
                "post": _campaign_step(
                    "Approve a campaign in review", "The approver must not have written or edited the campaign."
                )
            },
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "parameters": {"CampaignId": {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"detail": {"type": "string"}},
                    "required": ["detail"],
                },
                "ValidationError": {
                    "type": "object",
                    "properties": {
                        "detail": {"type": "string"},
                        "errors": {
                            "type": "object",
                            "additionalProperties": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                    "required": ["errors"],
                },
                "MailingList": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "slug": {"type": "string"},
                        "name": {"type": "string"},
                        "public": {"type": "boolean"},
                    },
                },
                "SubscriberInput": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["email", "lists", "consent_source"],
                    "properties": {
                        "email": _text(
                            254,
                            required=True,
                            format="email",
                            description="An address on a domain name (an IP address is refused).",
                        ),
                        "name": _text(
                            100,
                            description="Plain text: no links, web addresses, invisible or "
                            "text-direction characters (a name greets the person in emails).",
                        ),
                        "language": _optional({"type": "string", "enum": LANGUAGES}),
                        "lists": _SLUGS,
                        "consent_source": _text(
                            255,
                            required=True,
                            description="Where and how the person consented, e.g. 'petition form, example.org'.",
                        ),
                        "consent_wording": _text(
                            5000,
                            single_line=False,
                            description="The exact text the person was shown, kept as evidence.",
                        ),
                        "double_opt_in": _optional({"type": "boolean", "default": False}),
                    },
                },
                "SubscriberCreated": {
                    "type": "object",
                    "properties": {"id": {"type": "integer"}, "status": {"type": "string"}},
                },
                "Translation": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["subject"],
                    "properties": {
                        "subject": _text(200, required=True),
                        "preheader": _text(200),
                        "body_markdown": _text(100000, single_line=False),
                    },
                },
                "CampaignInput": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["kind", "subject", "body_markdown", "lists"],
                    "properties": {
                        "kind": {"type": "string", "enum": ["bulletin", "alert", "appeal"]},
                        "subject": _text(200, required=True),
                        "preheader": _text(200),
                        "body_markdown": _text(100000, single_line=False, required=True),
                        "lists": _SLUGS,
                        "language": _optional({"type": "string", "enum": LANGUAGES}),
                        "translations": _optional(
                            {
                                "type": "object",
                                # Only the languages offered; never the campaign's main one (a 400).
                                "properties": {code: _ref("Translation") for code in LANGUAGES},
                                "additionalProperties": False,
                            }
                        ),
                        "languages": _optional(
                            {
                                "type": "array",
                                "items": {"type": "string", "enum": LANGUAGES},
                                "maxItems": len(LANGUAGES),
                            }
                        ),
                        "engaged_within_days": _optional(
                            {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": 3650,
                                "description": "Only people who opened or clicked a campaign in the last N days.",
                            }
                        ),
                        "signed_up_after": _MOMENT,
                        "signed_up_before": _MOMENT,
                        "exclude_donors_days": _optional(
                            {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": 3650,
                                "description": "Appeals only (a 400 for other kinds).",
                            }
                        ),
                        "donor_rule": _optional(
                            {
                                "type": "string",
                                "enum": ["all", "exclude_recent", "lapsed", "never"],
                                "default": "all",
                                "description": "Appeals only. all: everyone (minus gifts in the last "
                                "exclude_donors_days, if set); exclude_recent: leave out gifts in the last N days "
                                "(default 90); lapsed: only people who gave before but not in the last N days "
                                "(default 365); never: only people who never gave. N is exclude_donors_days. "
                                "Monthly donors are always left out of appeals.",
                            }
                        ),
                        "call_to_action_text": _text(100),
                        "call_to_action_url": _text(
                            200, format="uri", description="An http or https URL (the donate page, for appeals)."
                        ),
                        "tracking_enabled": _optional({"type": "boolean", "default": True}),
                        "public_archive": _optional(
                            {
                                "type": "boolean",
                                "description": "Show in the public archive once sent. Left out: bulletins yes, "
                                "alerts and appeals no (they may name people at risk).",
                            }
                        ),
                    },
                },
                "Counts": {
                    "type": "object",
                    "properties": {
                        **{
                            name: {"type": "integer"} for name in ("recipients", "sent", "failed", "unknown", "pending")
                        },
                        "delivered": {
                            "type": "integer",
                            "nullable": True,
                            "description": "Accepted by the recipients' mail servers, as the email provider "
                            "reported it; null when it reports no deliveries (plain SMTP).",
                        },
                    },
                },
                "Campaign": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "kind": {"type": "string", "enum": ["bulletin", "alert", "appeal"]},
                        "subject": {"type": "string"},
                        "status": {"type": "string", "enum": STATUSES},
                        "status_reason": {"type": "string"},
                        "language": {"type": "string"},
                        "scheduled_at": {"type": "string", "format": "date-time", "nullable": True},
                        "audience": {
                            "type": "object",
                            "properties": {
                                "lists": {"type": "array", "items": {"type": "string"}},
                                "languages": {"type": "array", "items": {"type": "string"}},
                                "engaged_within_days": {"type": "integer", "nullable": True},
                                "signed_up_after": {"type": "string", "format": "date-time", "nullable": True},
                                "signed_up_before": {"type": "string", "format": "date-time", "nullable": True},
                            },
                        },
                        "public_archive": {"type": "boolean"},
                        "counts": _ref("Counts"),
                    },
                },
            },
        },
    }
    return _with_extensions(schema)


# --- Endpoints of apps above campaigns ------------------------------------------------
# Apps that campaigns must not import (actions) describe their endpoints
# themselves and register the description in their AppConfig.ready().
_EXTENSIONS: list[Callable[[], dict[str, Any]]] = []


def register_extension(build: Callable[[], dict[str, Any]]) -> None:
    """``build()`` returns ``{"paths": {...}, "components": {"schemas": {...}, ...}}`` to merge in."""
    if build not in _EXTENSIONS:
        _EXTENSIONS.append(build)


def _with_extensions(schema: dict[str, Any]) -> dict[str, Any]:
    for build in _EXTENSIONS:
        extra = build()
        schema["paths"].update(extra.get("paths", {}))
        for section, items in extra.get("components", {}).items():
            schema["components"].setdefault(section, {}).update(items)
    return schema
