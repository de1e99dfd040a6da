"""A citizen's draft is theirs alone: its applicant, its events (with the citizen's IP) and its
files appear on none of the supervisor's pages, exports or API answers, until it is submitted."""

import csv
import io
import re

import pytest
from rest_framework.test import APIClient

from citizens.models import CitizenProfile
from dossiers import indicators
from dossiers.demo import scenarios
from dossiers.services import Actor
from dossiers.workflow import Status

from .conftest import _user

NAME = "Đinh Thị Nháp"
IP = "198.51.100.77"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="\w+"')


class _Cast(scenarios.Cast):
    def actor(self, name: str) -> Actor:
        return Actor(user=getattr(self, name), ip=IP)


@pytest.fixture
def drafter_cast(reception, specialist, leader):
    user = _user("drafter")
    CitizenProfile.objects.create(user=user, full_name=NAME, id_number="031099007777")
    return _Cast(citizen=user, reception=reception, specialist=specialist, leader=leader)


def _text(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return CSRF.sub("", response.content.decode())  # a new token on every page


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(_text(response))))


def _everything(client, api):
    """What the supervisor can see, page by page (figures, lists, exports, API)."""
    seen = {
        "dashboard": _text(client.get("/supervision/")),
        "audit": _text(client.get("/supervision/audit/")),
        "audit.csv": _text(client.get("/supervision/audit/", {"format": "csv"})),
        "indicators.csv": _text(client.get("/supervision/export/indicators.csv")),
        "register.csv": _text(client.get("/supervision/export/register.csv")),
        "api": api.get("/api/v1/dossiers/").content.decode(),
        "api indicators": api.get("/api/v1/indicators/").content.decode(),
    }
    figures = [*indicators.FIGURE_LABELS, *(f"status:{s}" for s in Status.values)]
    for figure in figures:
        seen[figure] = _text(client.get("/supervision/dossiers/", {"figure": figure}))
    return seen


def test_a_draft_shows_nowhere_for_the_supervisor_until_submitted(
    client, supervisor, drafter_cast, procedure, commune
):
    client.force_login(supervisor)
    api = APIClient()
    api.force_authenticate(supervisor)
    before = _everything(client, api)

    draft = scenarios.new_draft(cast=drafter_cast, procedure=procedure, agency=commune)
    assert draft.status == Status.DRAFT and draft.events.filter(ip=IP).exists()
    assert draft.attachments.exists()

    # Nothing changed anywhere: no row, no count, no name, no IP.
    after = _everything(client, api)
    for page, text in after.items():
        assert NAME not in text and IP not in text and text == before[page], page
    assert client.get("/supervision/audit/").context["rows"] == []
    assert _csv(client.get("/supervision/audit/", {"format": "csv"}))[1:] == []
    assert client.get(f"/supervision/dossiers/{draft.pk}/").status_code == 404
    ref = f"/api/v1/dossiers/draft-{draft.pk}/"
    assert api.get(ref).status_code == 404
    assert api.get(f"{ref}events/").status_code == 404

    # Submitted: it is the province's now, with all its events.
    submitted = scenarios.step(draft, "submit", drafter_cast)
    audit = client.get("/supervision/audit/").context["rows"]
    assert {e.dossier_id for e in audit} == {draft.pk}
    assert {"dossier.created", "dossier.submitted"} <= {e.event_type for e in audit}
    assert IP in _text(client.get("/supervision/audit/", {"format": "csv"}))
    trail = client.get(f"/supervision/dossiers/{draft.pk}/")
    assert trail.status_code == 200 and IP in _text(trail)
    listed = client.get("/supervision/dossiers/", {"figure": "status:submitted"})
    assert [d.pk for d in listed.context["rows"]] == [draft.pk]
    refs = [d["ref"] for d in api.get("/api/v1/dossiers/").json()["results"]]
    assert refs == [submitted.code]
    events = api.get(f"/api/v1/dossiers/{submitted.code}/events/").json()["events"]
    assert events[0]["event_type"] == "dossier.created" and events[0]["ip"] == IP

    # Received: in the register and the figures too.
    scenarios.step(submitted, "receive", drafter_cast)
    register = _csv(client.get("/supervision/export/register.csv"))
    assert [row[1] for row in register[1:]] == [submitted.code] and register[1][3] == NAME
    received = client.get("/supervision/dossiers/", {"figure": "received"})
    assert [d.pk for d in received.context["rows"]] == [draft.pk]
    assert api.get("/api/v1/indicators/").json()["figures"]["received"] == 1
