"""The OpenAPI 3 description of /api/v1/, written by hand next to the views."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

LANGUAGES = [code for code, _label in settings.LANGUAGES]
STATUSES = ["draft", "review", "approved", "scheduled", "sending", "paused", "sent", "cancelled"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


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
    return {
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
                    {"type": "object", "properties": {"at": {"type": "string", "format": "date-time"}}},
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
                    "required": ["email", "lists", "consent_source"],
                    "properties": {
                        "email": {"type": "string", "format": "email", "maxLength": 254},
                        "name": {"type": "string", "maxLength": 100},
                        "language": {"type": "string", "enum": LANGUAGES},
                        "lists": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                        "consent_source": {
                            "type": "string",
                            "maxLength": 255,
                            "description": "Where and how the person consented, e.g. 'petition form, example.org'.",
                        },
                        "consent_wording": {
                            "type": "string",
                            "maxLength": 5000,
                            "description": "The exact text the person was shown, kept as evidence.",
                        },
                        "double_opt_in": {"type": "boolean", "default": False},
                    },
                },
                "SubscriberCreated": {
                    "type": "object",
                    "properties": {"id": {"type": "integer"}, "status": {"type": "string"}},
                },
                "Translation": {
                    "type": "object",
                    "required": ["subject"],
                    "properties": {
                        "subject": {"type": "string", "maxLength": 200},
                        "preheader": {"type": "string", "maxLength": 200},
                        "body_markdown": {"type": "string"},
                    },
                },
                "CampaignInput": {
                    "type": "object",
                    "required": ["kind", "subject", "body_markdown", "lists"],
                    "properties": {
                        "kind": {"type": "string", "enum": ["bulletin", "alert", "appeal"]},
                        "subject": {"type": "string", "maxLength": 200},
                        "preheader": {"type": "string", "maxLength": 200},
                        "body_markdown": {"type": "string", "maxLength": 100000},
                        "lists": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                        "language": {"type": "string", "enum": LANGUAGES},
                        "translations": {"type": "object", "additionalProperties": _ref("Translation")},
                        "languages": {"type": "array", "items": {"type": "string", "enum": LANGUAGES}},
                        "engaged_within_days": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 3650,
                            "description": "Only people who opened or clicked a campaign in the last N days.",
                        },
                        "signed_up_after": {"type": "string", "format": "date-time"},
                        "signed_up_before": {"type": "string", "format": "date-time"},
                        "exclude_donors_days": {"type": "integer", "minimum": 1, "maximum": 3650},
                        "donor_rule": {
                            "type": "string",
                            "enum": ["all", "exclude_recent", "lapsed", "never"],
                            "default": "all",
                            "description": "Appeals only. all: everyone (minus gifts in the last "
                            "exclude_donors_days, if set); exclude_recent: leave out gifts in the last N days "
                            "(default 90); lapsed: only people who gave before but not in the last N days "
                            "(default 365); never: only people who never gave. N is exclude_donors_days. "
                            "Monthly donors are always left out of appeals.",
                        },
                        "call_to_action_text": {"type": "string", "maxLength": 100},
                        "call_to_action_url": {"type": "string", "format": "uri", "maxLength": 200},
                        "tracking_enabled": {"type": "boolean", "default": True},
                        "public_archive": {
                            "type": "boolean",
                            "description": "Show in the public archive once sent. Left out: bulletins yes, "
                            "alerts and appeals no (they may name people at risk).",
                        },
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
