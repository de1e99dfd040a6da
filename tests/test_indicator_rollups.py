"""The indicator rollups give exactly the figures counted from the dossiers (the raw_* reference),
over a varied set and many scopes, after a rebuild and after actions and a refresh; the
dashboard and the exports show the same either way."""

import datetime as dt
import random

import pytest
from django.core.management import call_command

from dossiers import indicators, services, tasks
from dossiers.models import Channel, Dossier, IndicatorChange, IndicatorRollup
from dossiers.workflow import CLOCK_RUNNING_STATUSES, Status

from .conftest import actor, vn

NOW = vn(2026, 4, 20, 10)
FINISHED = [Status.RETURNED] * 6 + [
    Status.RESOLVED,
    Status.WITHDRAWN,
    Status.REFUSED,
    Status.STOPPED,
    Status.AWAITING_PAYMENT,
]
OPEN = [
    Status.SUBMITTED,
    Status.RECEIVED,
    Status.PROCESSING,
    Status.PENDING_APPROVAL,
    Status.SUPPLEMENT_REQUESTED,
]


@pytest.fixture
def varied(commune, other_commune, procedure, paused_procedure, province):
    """Dossiers in every status, both communes (one decided by the province), two procedures,
    every channel, dated over five months with times next to Vietnam midnight, resolved before,
    on and after the due day, returned in each way, rated or not."""
    rng = random.Random(12)
    rows = []
    for i in range(400):
        receiving = rng.choice([commune, other_commune])
        competent = province if i % 7 == 0 else receiving
        submitted = vn(2025, 11, 20, 0) + dt.timedelta(minutes=rng.randrange(0, 150 * 24 * 60))
        if i % 5 == 0:  # just before or after midnight, Vietnam time
            submitted = submitted.replace(hour=rng.choice([0, 23]), minute=rng.choice([0, 59]))
        status = rng.choice(FINISHED + OPEN) if i % 3 else rng.choice(FINISHED)
        received = None if status in (Status.SUBMITTED, Status.REFUSED) else submitted
        due = received + dt.timedelta(days=rng.choice([1, 3, 5])) if received else None
        resolved = returned = rated = None
        if status in (Status.RESOLVED, Status.RETURNED, Status.AWAITING_PAYMENT):
            resolved = due + dt.timedelta(hours=rng.choice([-50, -3, -1, 1, 5, 30]))
        if status == Status.RETURNED:
            returned = resolved + dt.timedelta(hours=rng.choice([1, 20]))
            if rng.random() < 0.6:
                rated = returned + dt.timedelta(hours=rng.choice([2, 40]))
        rows.append(
            Dossier(
                code=f"V{i}",
                procedure=rng.choice([procedure, paused_procedure]),
                receiving_agency=receiving,
                competent_agency=competent,
                channel=rng.choice(list(Channel.values)),
                status=status,
                created_at=submitted,
                submitted_at=submitted,
                received_at=received,
                original_due_at=due,
                due_at=due,
                resolved_at=resolved,
                returned_at=returned,
                closed_at=returned,
                result_delivery=rng.choice(["electronic", "counter", "post"]) if returned else "",
                supplement_requests=rng.choice([0, 0, 0, 1, 2, 3]),
                resolution_working_seconds=(
                    rng.choice([None, rng.randrange(3600, 400000)]) if resolved else None
                ),
                rating=rng.choice(["very_satisfied", "satisfied", "unsatisfied"]) if rated else "",
                rated_at=rated,
            )
        )
    rows.append(
        Dossier(
            code="V-draft",
            procedure=procedure,
            receiving_agency=commune,
            competent_agency=commune,
            created_at=NOW,
            submitted_at=NOW,
        )
    )
    Dossier.objects.bulk_create(rows)
    return rows


def scopes(commune, other_commune, procedure):
    d = dt.date
    periods = [
        (d(2025, 11, 1), d(2026, 4, 30)),  # whole months only
        (d(2025, 11, 23), d(2026, 4, 7)),  # days at both ends
        (d(2026, 1, 1), d(2026, 12, 31)),
        (d(2026, 2, 1), d(2026, 2, 28)),  # one whole month
        (d(2026, 2, 3), d(2026, 2, 3)),  # one day
        (d(2026, 1, 31), d(2026, 3, 1)),  # a day, a month, a day
        (d(2026, 3, 5), d(2026, 3, 30)),  # days inside one month
    ]
    for date_from, date_to in periods:
        yield indicators.Scope(date_from, date_to)
    yield indicators.Scope(d(2025, 12, 10), d(2026, 3, 31), agency_id=commune.pk)
    yield indicators.Scope(d(2025, 12, 1), d(2026, 2, 14), agency_id=other_commune.pk)
    yield indicators.Scope(d(2025, 11, 1), d(2026, 4, 30), procedure_code=procedure.code)
    yield indicators.Scope(d(2026, 1, 2), d(2026, 4, 30), commune.pk, procedure.code)


def figures_of(user, scope, now, source):
    """Everything the dashboard and the export show, from the rollups or from the reference."""
    if source == "raw":
        return (
            indicators.raw_headline(user, scope, now),
            indicators.raw_grouped(user, scope, now, "procedure"),
            indicators.raw_grouped(user, scope, now, "agency"),
            indicators.raw_monthly(user, scope),
            indicators.raw_status_breakdown(user, scope),
        )
    return (
        indicators.headline(user, scope, now),
        indicators.grouped(user, scope, now, "procedure"),
        indicators.grouped(user, scope, now, "agency"),
        indicators.monthly(user, scope),
        indicators.status_breakdown(user, scope),
    )


def assert_rollups_match(supervisor, commune, other_commune, procedure, now=NOW):
    for scope in scopes(commune, other_commune, procedure):
        assert figures_of(supervisor, scope, now, "rollups") == figures_of(
            supervisor, scope, now, "raw"
        ), scope


def test_the_open_statuses_are_those_of_the_state_figures():
    assert set(indicators.OPEN_STATUSES) == {*CLOCK_RUNNING_STATUSES, *indicators.PAUSED_STATUSES}


def test_rollups_equal_the_counts_from_the_dossiers(
    varied, supervisor, commune, other_commune, procedure
):
    rows = indicators.rebuild_rollups()
    assert rows > 0 and IndicatorRollup.objects.filter(grain="m").exists()
    assert indicators._from_rollups(supervisor)
    headline = indicators.headline(
        supervisor, indicators.Scope(dt.date(2025, 11, 1), NOW.date()), NOW
    )
    assert headline["received"] > 100 and headline["resolved_after"] and headline["rated"]
    assert headline["resolved_before"] and headline["resolved_on"] and headline["paused"]
    assert_rollups_match(supervisor, commune, other_commune, procedure)
    # The state figures follow the moment asked about, not the rollups.
    assert_rollups_match(supervisor, commune, other_commune, procedure, now=vn(2025, 12, 1))


def test_actions_reach_the_figures_at_the_next_refresh(
    varied, march_like, supervisor, commune, other_commune, procedure, reception, citizen
):
    indicators.rebuild_rollups()
    indicators.refresh_rollups()  # the marks of the dossiers made through the services
    assert not IndicatorChange.objects.exists()
    scope = indicators.Scope(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    before = indicators.headline(supervisor, scope, NOW)
    resolved = march_like["resolved"]
    services.dossier_return_result(actor=actor(reception), dossier=resolved, delivery="electronic")
    services.dossier_rate(
        actor=actor(citizen), dossier=Dossier.objects.get(pk=resolved.pk), rating="satisfied"
    )
    assert IndicatorChange.objects.count() == 2
    # Until the worker's refresh the rollups still say what they said.
    assert indicators.headline(supervisor, scope, NOW) == before
    tasks.sweep.call()
    assert not IndicatorChange.objects.exists()
    assert_rollups_match(supervisor, commune, other_commune, procedure)
    # The return and the rating happened now: they count in today's period, as raw says.
    today = indicators.Scope.of()
    assert figures_of(supervisor, today, NOW, "rollups") == figures_of(
        supervisor, today, NOW, "raw"
    )
    assert indicators.headline(supervisor, today, NOW)["returned_electronic"] >= 1


@pytest.fixture
def march_like(make_dossier):
    """Dossiers walked through the real services (marks written by their actions)."""
    times = [vn(2026, 3, 2, 8), vn(2026, 3, 2, 8, 30), vn(2026, 3, 2, 9), vn(2026, 3, 2, 9, 30)]
    resolved = make_dossier(Status.RESOLVED, times=[*times, vn(2026, 3, 4, 9), vn(2026, 3, 4, 10)])
    processing = make_dossier(Status.PROCESSING, times=times)
    return {"resolved": resolved, "processing": processing}


def test_refresh_recomputes_only_marked_days_and_rebuild_restores_everything(
    varied, supervisor, commune, other_commune, procedure
):
    indicators.rebuild_rollups()
    # A change made past the actions (a bulk fix in SQL) is not marked: a rebuild takes it in.
    Dossier.objects.filter(code="V1").update(rating="unsatisfied", rated_at=vn(2026, 2, 3, 9))
    assert indicators.refresh_rollups() == 0
    call_command("rebuild_indicators")
    assert_rollups_match(supervisor, commune, other_commune, procedure)


def test_dashboard_and_exports_are_the_same_from_the_rollups(
    client, varied, supervisor, commune, other_commune
):
    client.force_login(supervisor)
    query = {"date_from": "2025-11-23", "date_to": "2026-04-07"}

    def shown():
        page = client.get("/supervision/", query).context
        csv = b"".join(client.get("/supervision/export/indicators.csv", query).streaming_content)
        return (
            page["figures"],
            page["by_procedure"],
            page["by_agency"],
            page["months"],
            page["statuses"],
            csv,
        )

    raw = shown()
    assert raw[0]["received"] > 0
    indicators.rebuild_rollups()
    assert shown() == raw
    by_agency = client.get("/supervision/", {**query, "agency": other_commune.pk}).context
    assert by_agency["figures"]["received"] > 0


def test_a_supervisors_own_application_elsewhere_keeps_the_reference(
    varied, supervisor, commune, other_commune, procedure, make_dossier
):
    indicators.rebuild_rollups()
    elsewhere = Dossier.objects.get(code="V3")
    from dossiers.models import Agency

    far = Agency.objects.create(code="000.00.00.H99", name="Tỉnh khác", level="province")
    Dossier.objects.filter(pk=elsewhere.pk).update(
        applicant_user=supervisor, receiving_agency=far, competent_agency=far
    )
    assert not indicators._from_rollups(supervisor)
    assert_rollups_match(supervisor, commune, other_commune, procedure)


def test_a_figures_list_pages_through_exactly_its_dossiers_in_date_order(
    client, varied, supervisor
):
    client.force_login(supervisor)
    query = {"date_from": "2025-12-01", "date_to": "2026-02-28", "figure": "received"}
    scope = indicators.Scope(dt.date(2025, 12, 1), dt.date(2026, 2, 28))
    expected = indicators.raw_headline(supervisor, scope, NOW)["received"]
    seen, after = [], ""
    while True:
        page = client.get("/supervision/dossiers/", {**query, "after": after}).context
        seen += [(d.received_at, d.pk) for d in page["rows"]]
        after = page["next_cursor"]
        if not after:
            break
    assert len(seen) == len(set(seen)) == expected > 25  # more than one page
    assert seen == sorted(seen)
