"""Schemathesis, in-process (WSGI): every operation of the schema, generated inputs (valid and
invalid), every check schemathesis has (no server error, documented status codes, content types
and headers, response bodies that match the schema, invalid input rejected, valid input
accepted, unsupported methods refused, authentication not ignored...), each operation called as
a user who may use it, on demo data.

The schema is the committed docs/openapi.yaml (test_api proves it equals the code's), loaded at
collection time when no database is open yet. The project's schemathesis.toml (also read by the
`st` command line) says which answers count as accepting valid input where the schema cannot
know the data (credentials, codes of other records)."""

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from onestop.wsgi import application

ROOT = Path(__file__).resolve().parent.parent
schema = schemathesis.openapi.from_path(
    ROOT / "docs/openapi.yaml", config=SchemathesisConfig.from_path(ROOT / "schemathesis.toml")
)
schema.app = application

# Who calls each operation: someone allowed to, so that its inputs are read, not refused at once.
CITIZEN_OPERATIONS = {
    ("POST", "/api/v1/dossiers/"),
    ("PATCH", "/api/v1/dossiers/{ref}/"),
    ("POST", "/api/v1/dossiers/{ref}/attachments/"),
}


def caller(method: str, path: str) -> str:
    if path.startswith("/api/v1/webhooks/"):
        return "admin"
    if path == "/api/v1/indicators/":
        return "supervisor"
    if path == "/api/v1/dossiers/intake/":
        return "integration"
    if (method, path) in CITIZEN_OPERATIONS:
        return "citizen"
    return "reception"


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Demo data and a token per caller, made once for the module inside a transaction that is
    rolled back at its end (each test runs in a savepoint within it).

    Django's test client stops request_finished from closing the connection (it is inside the
    test transaction); schemathesis's WSGI client does not, so that is done here too."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections, transaction

    from dossiers import tokens as api_tokens
    from dossiers.models import Agency, Membership
    from dossiers.workflow import Role

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", "--force", "--dossiers", "3")
        users = {n: get_user_model().objects.get(username=n) for n in ("admin", "citizen")}
        users["reception"] = Membership.objects.filter(role=Role.RECEPTION).first().user
        users["supervisor"] = Membership.objects.filter(role=Role.SUPERVISOR).first().user
        users["integration"] = get_user_model().objects.create_user("portal")
        Membership.objects.create(
            user=users["integration"],
            agency=Agency.objects.filter(level=Agency.Level.COMMUNE).order_by("code").first(),
            role=Role.INTEGRATION,
        )
        yield {name: api_tokens.issue(u, "schemathesis")[1] for name, u in users.items()}
        transaction.set_rollback(True)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(seeded, db):
    from django.core.cache import cache

    cache.clear()  # throttles start afresh
    return seeded


@schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(case, tokens):
    token = tokens[caller(case.method, case.operation.path)]
    case.call_and_validate(headers={"Authorization": f"Token {token}"})
