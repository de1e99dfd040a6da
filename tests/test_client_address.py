"""One client address for throttles, lockout and the audit trail (onestop/net.py):
X-Forwarded-For is believed only from a configured trusted proxy."""

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from dossiers.models import DossierEvent
from dossiers.workflow import Status
from onestop.net import resolve_client_ip


@pytest.fixture(autouse=True)
def _fresh_throttles(db):
    cache.clear()


def test_forged_forwarded_for_does_not_bypass_the_token_throttle(citizen, settings):
    """The attack: a new X-Forwarded-For per request used to give a new throttle identity."""
    settings.AXES_FAILURE_LIMIT = 100  # the throttle, not the login lockout, is under test here
    client = APIClient()
    statuses = []
    for attempt in range(12):
        response = client.post(
            "/api/v1/auth/token/",
            {"username": "citizen", "password": "wrong"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}",
        )
        statuses.append(response.status_code)
    assert 429 in statuses
    assert statuses.index(429) == 10  # the token scope allows 10 a minute, per real address


def test_trusted_proxy_forwards_the_client_address(settings, citizen):
    settings.ONESTOP_TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.AXES_FAILURE_LIMIT = 100  # the throttle, not the login lockout, is under test here
    client = APIClient(REMOTE_ADDR="10.1.2.3")
    for _ in range(10):
        client.post(
            "/api/v1/auth/token/",
            {"username": "citizen", "password": "wrong"},
            format="json",
            HTTP_X_FORWARDED_FOR="198.51.100.7",
        )
    # Another client behind the same proxy is a different identity and is not throttled.
    other = client.post(
        "/api/v1/auth/token/",
        {"username": "citizen", "password": "wrong"},
        format="json",
        HTTP_X_FORWARDED_FOR="198.51.100.8",
    )
    assert other.status_code != 429
    same = client.post(
        "/api/v1/auth/token/",
        {"username": "citizen", "password": "wrong"},
        format="json",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert same.status_code == 429


@pytest.mark.parametrize(
    ("trusted", "peer", "header", "expected"),
    [
        ([], "192.0.2.1", "6.6.6.6", "192.0.2.1"),  # no trusted proxy: header ignored
        (["10.0.0.0/8"], "192.0.2.1", "6.6.6.6", "192.0.2.1"),  # peer is not a proxy
        (["10.0.0.0/8"], "10.0.0.2", "198.51.100.7", "198.51.100.7"),
        # The client wrote a forged hop on the left; the proxy appended the real one.
        (["10.0.0.0/8"], "10.0.0.2", "6.6.6.6, 198.51.100.7", "198.51.100.7"),
        # Two trusted proxies in a row.
        (["10.0.0.0/8"], "10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.9", "198.51.100.7"),
        (["10.0.0.0/8"], "10.0.0.2", "garbage", "10.0.0.2"),
        (["10.0.0.0/8"], "10.0.0.2", "", "10.0.0.2"),
    ],
)
def test_resolution_reads_from_the_right(settings, trusted, peer, header, expected):
    settings.ONESTOP_TRUSTED_PROXIES = trusted
    assert resolve_client_ip(peer, header) == expected


def test_audit_event_records_the_resolved_address(settings, reception, make_dossier):
    settings.ONESTOP_TRUSTED_PROXIES = ["10.0.0.0/8"]
    dossier = make_dossier(Status.SUBMITTED)
    client = Client(REMOTE_ADDR="10.0.0.2")
    client.force_login(reception)
    client.post(
        f"/office/dossiers/{dossier.pk}/act/receive/",
        {"version": dossier.version},
        HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.9",
    )
    event = DossierEvent.objects.filter(dossier=dossier).order_by("-seq").first()
    assert event.to_status == Status.RECEIVED
    assert event.ip == "198.51.100.9"
