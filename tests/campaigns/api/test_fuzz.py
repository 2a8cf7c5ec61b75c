"""Property-based fuzzing of the JSON API from its own OpenAPI document.

Schemathesis reads /api/v1/openapi.json (campaigns/api/schema.py), generates
requests for every operation, valid ones and invalid ones, and sends them
through the real WSGI application with a real API token. Every answer must
be no server error, a status code the document lists, JSON, and shaped as
the document says. This is what keeps the document and the code in step,
and what found the NUL and lone-surrogate 500s: a new field that forgets the
rules of subscribers/text.py fails here.

Bounded and repeatable for CI: a fixed number of examples per operation and
a derandomised Hypothesis, so a run takes a minute and fails the same way
twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from campaigns.api.schema import openapi_schema
from campaigns.staff.roles import ADMIN
from config.wsgi import application
from tests.support.factories import campaign, mailing_list
from tests.support.personas import staff, token_for

schema = schemathesis.openapi.from_dict(openapi_schema())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class Api:
    token: str
    slugs: list[str]
    campaign_ids: list[int]


@pytest.fixture
def api(django_db_blocker) -> Iterator[Api]:  # type: ignore[no-untyped-def]
    # The admin role holds every permission: each operation gets past 403
    # and reaches its validation and its service.
    user = staff("fuzzer", ADMIN)
    lists = [mailing_list("news", people=3), mailing_list("peru-alerts", people=2)]
    drafts = [campaign(author=user, lists=lists), campaign(lists=lists[:1]), campaign(lists=lists[1:])]
    # The test client detaches these for the same reason: a request would
    # otherwise close the connection that holds the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield Api(token_for(user), [mailing.slug for mailing in lists], [draft.pk for draft in drafts])
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _point_at_real_rows(case: schemathesis.Case, api: Api) -> None:
    """Valid requests name lists and campaigns that exist, or they would all stop at 'unknown'."""
    if case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE:
        return
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("lists"), list):
        body["lists"] = api.slugs[: 1 + len(body["lists"]) % len(api.slugs)]
    parameters = case.path_parameters or {}
    if isinstance(parameters.get("id"), int) and parameters["id"] % 4:
        # Three in four reach a real campaign; the rest try an id that may not exist.
        parameters["id"] = api.campaign_ids[parameters["id"] % len(api.campaign_ids)]


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_every_generated_request_as_its_schema_says(case, api):  # type: ignore[no-untyped-def]
    _point_at_real_rows(case, api)
    response = case.call(app=application, headers={"Authorization": f"Bearer {api.token}"})
    case.validate_response(response, checks=CHECKS)
