"""The OpenAPI document of /api/v1/, generated from the endpoints' schemas (campaigns' and other apps')."""

from __future__ import annotations

from typing import Any

from campaigns.api.app import api


def openapi_schema() -> dict[str, Any]:
    return dict(api.get_openapi_schema())
