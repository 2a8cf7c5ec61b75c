"""/api/v1/docs: the API's reference for people, built from the same document, working under the site's policy."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

from tests.support.csp import PolicyReader, parse_policy, sources

pytestmark = pytest.mark.django_db

# Swagger UI's settings travel as a JSON data block: a browser never runs it, so no policy applies to it.
DATA_BLOCK = re.compile(r'<script type="application/json"[^>]*>.*?</script>', re.DOTALL)


def test_the_docs_page_runs_swagger_from_our_own_static_files_and_nothing_inline(client):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    policy = parse_policy(response["Content-Security-Policy"])
    assert "'unsafe-inline'" not in sources(policy, "script-src")
    page = response.content.decode()
    reader = PolicyReader(policy)
    reader.feed(DATA_BLOCK.sub("", page))
    assert reader.blocked == []
    assets = re.findall(r'(?:src|href)="/static/([^"]+)"', page)
    assert {"ninja/swagger-ui-bundle.js", "ninja/swagger-ui-init.js", "ninja/swagger-ui.css"} <= set(assets)
    assert all(finders.find(asset) for asset in assets), assets
    assert "//cdn" not in page and "unpkg" not in page
    assert '"url": "/api/v1/openapi.json"' in page


def test_the_docs_page_describes_every_endpoint_of_the_document(client):
    document = client.get("/api/v1/openapi.json").json()
    assert {"/lists", "/subscribers", "/campaigns", "/campaigns/{id}/send", "/actions/{slug}/signatures"} <= set(
        document["paths"]
    )
    send = document["paths"]["/campaigns/{id}/send"]["post"]
    assert send["summary"] == "Send now, or schedule."
    assert {"202", "400", "401", "403", "404", "409"} <= set(send["responses"])
