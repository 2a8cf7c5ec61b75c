"""The OpenAPI description of /api/v1/actions, merged into campaigns' document.

Registered in ``ActionsConfig.ready()`` through
``campaigns.api.schema.register_extension``: campaigns never imports actions.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from actions.models import Action, Letter

_LANGUAGES = [code for code, _label in settings.LANGUAGES]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ref("ValidationError"), "Invalid input: every problem, by field."),
    "401": _json(_ref("Error"), "No token, or not a valid one."),
    "403": _json(_ref("Error"), "The token's user lacks the permission."),
}
_SLUG = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 100}}


def openapi_additions() -> dict[str, Any]:
    return {
        "paths": {
            "/actions": {
                "get": {
                    "summary": "Every action, newest first, with its counts",
                    "responses": {"200": _json({"type": "array", "items": _ref("Action")}, "The actions."), **_ERRORS},
                },
                "post": {
                    "summary": "Create a petition or a letter to decision-makers",
                    "description": (
                        "The action is open at once (its public page is `url`) unless `status` is `draft`. "
                        "A letter needs `letter.subject`, `letter.body` and someone to write to: "
                        "`targets.group` (a target group's short name), `targets.by_district` (each supporter "
                        "writes to the targets of their own district, found from their postal code), "
                        "`targets.fixed` (targets' email addresses), or a combination."
                    ),
                    "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("ActionInput")}}},
                    "responses": {"201": _json(_ref("ActionCreated"), "Created."), **_ERRORS},
                },
            },
            "/actions/{slug}": {
                "get": {
                    "summary": "An action and its counts",
                    "parameters": [_SLUG],
                    "responses": {
                        "200": _json(_ref("Action"), "The action."),
                        "404": _json(_ref("Error"), "No such action."),
                        **_ERRORS,
                    },
                }
            },
            "/actions/{slug}/signatures": {
                "post": {
                    "summary": "Sign an action (from another website)",
                    "description": (
                        "One signature per address per action: a repeat answers 200 with the first "
                        "signature's id, changes nothing and writes no letter again. For a letter by "
                        "district, a postal code that matches no district or several answers 400 with "
                        "`errors.district` and the `choices`; send one of their codes as `district`. "
                        "`opt_in_lists` (lists the action offers) is a sign-up with double opt-in: the "
                        "person gets a confirmation email."
                    ),
                    "parameters": [_SLUG],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("SignatureInput")}},
                    },
                    "responses": {
                        "201": _json(_ref("SignatureCreated"), "Signed."),
                        "200": _json(_ref("SignatureCreated"), "This address had already signed: nothing changed."),
                        "400": _json(_ref("DistrictChoice"), "Invalid input, or the district must be chosen."),
                        "404": _json(_ref("Error"), "No such action."),
                        "409": _json(_ref("Error"), "The action is a draft or closed."),
                        "401": _ERRORS["401"],
                        "403": _ERRORS["403"],
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "ActionInput": {
                    "type": "object",
                    "required": ["kind", "slug", "title", "body_markdown"],
                    "properties": {
                        "kind": {"type": "string", "enum": Action.Kind.values},
                        "slug": {"type": "string", "maxLength": 100, "pattern": "^[-a-zA-Z0-9_]+$"},
                        "title": {"type": "string", "maxLength": 200},
                        "body_markdown": {"type": "string", "maxLength": 100000},
                        "goal": {"type": "integer", "minimum": 1, "maximum": 100000000},
                        "status": {"type": "string", "enum": ["draft", "open"], "default": "open"},
                        "lists": {
                            "type": "array",
                            "items": {"type": "string"},
                            "description": "Lists offered as unticked opt-in boxes.",
                        },
                        "share_image_url": {"type": "string", "format": "uri", "maxLength": 200},
                        "letter": {
                            "type": "object",
                            "properties": {
                                "subject": {"type": "string", "maxLength": 200},
                                "body": {"type": "string", "maxLength": 20000},
                                "edit_policy": {
                                    "type": "string",
                                    "enum": Action.EditPolicy.values,
                                    "default": "paragraph",
                                    "description": "fixed: sent as written; paragraph: supporters may add a "
                                    "paragraph; full: supporters may edit the whole letter.",
                                },
                                "edit_limit": {"type": "integer", "minimum": 1, "maximum": 20000, "default": 1500},
                            },
                        },
                        "targets": {
                            "type": "object",
                            "properties": {
                                "group": {"type": "string", "maxLength": 120},
                                "by_district": {"type": "boolean", "default": False},
                                "fixed": {"type": "array", "items": {"type": "string", "format": "email"}},
                            },
                        },
                    },
                },
                "ActionCreated": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "slug": {"type": "string"},
                        "url": {"type": "string", "format": "uri"},
                    },
                },
                "Action": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "slug": {"type": "string"},
                        "kind": {"type": "string", "enum": Action.Kind.values},
                        "title": {"type": "string"},
                        "status": {"type": "string", "enum": Action.Status.values},
                        "goal": {"type": "integer", "nullable": True},
                        "url": {"type": "string", "format": "uri"},
                        "counts": {
                            "type": "object",
                            "properties": {
                                "signatures": {"type": "integer"},
                                "letters": {
                                    "type": "object",
                                    "description": "pending: waiting for or being sent; by_hand: for targets "
                                    "that take no email, delivered by staff.",
                                    "properties": {
                                        name: {"type": "integer"}
                                        for name in ("sent", "failed", "pending", "unknown", Letter.Status.BY_HAND)
                                    },
                                },
                            },
                        },
                    },
                },
                "SignatureInput": {
                    "type": "object",
                    "required": ["email", "name"],
                    "properties": {
                        "email": {"type": "string", "format": "email", "maxLength": 254},
                        "name": {"type": "string", "maxLength": 100},
                        "postal_code": {"type": "string", "maxLength": 20, "description": "Canadian, e.g. K1A 0A6."},
                        "district": {"type": "string", "maxLength": 32, "description": "A district code, when asked."},
                        "message": {
                            "type": "string",
                            "maxLength": 20000,
                            "description": "A petition comment, or the supporter's paragraph in a letter.",
                        },
                        "letter_subject": {"type": "string", "maxLength": 200},
                        "letter_body": {"type": "string", "maxLength": 20000},
                        "opt_in_lists": {"type": "array", "items": {"type": "string"}},
                        "source": {
                            "type": "string",
                            "maxLength": 255,
                            "description": "Where the signature came from, e.g. a partner's website.",
                        },
                        "page_url": {"type": "string", "maxLength": 500},
                        "language": {"type": "string", "enum": _LANGUAGES},
                    },
                },
                "SignatureCreated": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "created": {"type": "boolean"},
                        "letters": {"type": "integer", "description": "Letters written by this call."},
                    },
                },
                "DistrictChoice": {
                    "type": "object",
                    "properties": {
                        "detail": {"type": "string"},
                        "errors": {
                            "type": "object",
                            "additionalProperties": {"type": "array", "items": {"type": "string"}},
                        },
                        "choices": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
                            },
                        },
                    },
                    "required": ["errors"],
                },
            }
        },
    }
