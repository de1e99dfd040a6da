"""Schemathesis, in-process (WSGI): every operation of the schema, generated inputs, as a
logged-in official on demo data. No server error, and every response conforms.

The schema is the committed docs/openapi.yaml (test_api proves it equals the code's), loaded at
collection time when no database is open yet."""

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from onestop.wsgi import application

schema = schemathesis.openapi.from_path(
    Path(__file__).resolve().parent.parent / "docs/openapi.yaml"
)
schema.app = application


@pytest.fixture
def keep_connection():
    """Django's test client stops request_finished from closing the test's connection (it is
    inside the test transaction); schemathesis's WSGI client does not, so do it here."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def reception_token(db, keep_connection):
    from django.core.cache import cache
    from django.core.management import call_command

    from dossiers import tokens
    from dossiers.models import Membership

    if not Membership.objects.exists():
        call_command("seed_demo", "--force", "--dossiers", "12")
    cache.clear()
    user = Membership.objects.filter(role="reception").first().user
    return tokens.issue(user, "schemathesis")[1]


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(case, reception_token):
    response = case.call(headers={"Authorization": f"Token {reception_token}"})
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
