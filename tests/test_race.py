"""Two officials act on one dossier at the same instant (PostgreSQL row locks, real threads)."""

import threading

import pytest
from django.db import connection

from dossiers import services
from dossiers.errors import ChangedMeanwhile
from dossiers.models import Dossier
from dossiers.workflow import EventType, Status

from .conftest import actor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(dossier, *attempts):
    """Run each attempt(stale_dossier) in its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(attempts))
    outcomes = [None] * len(attempts)

    def run(index, attempt):
        stale = Dossier.objects.get(pk=dossier.pk)  # both load the same version first
        try:
            barrier.wait(timeout=10)
            attempt(stale)
            outcomes[index] = "ok"
        except ChangedMeanwhile:
            outcomes[index] = "changed"
        except Exception as exc:
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.parametrize("round_", range(3))
def test_receive_and_refuse_race(make_dossier, reception, round_):
    dossier = make_dossier(Status.SUBMITTED)
    # Slips render after commit in these transactional tests; count the actions only.
    events_before = dossier.events.exclude(event_type=EventType.SLIP_RENDERED).count()
    outcomes = _race(
        dossier,
        lambda d: services.dossier_receive(actor=actor(reception), dossier=d),
        lambda d: services.dossier_refuse(
            actor=actor(reception), dossier=d, reason="Sai thẩm quyền"
        ),
    )
    assert sorted(map(str, outcomes)) == ["changed", "ok"]
    fresh = Dossier.objects.get(pk=dossier.pk)
    assert fresh.status == (Status.RECEIVED if outcomes[0] == "ok" else Status.REFUSED)
    actions = fresh.events.exclude(event_type=EventType.SLIP_RENDERED)
    assert actions.count() == events_before + 1
    assert actions.filter(event_type__in=[EventType.RECEIVED, EventType.REFUSED]).count() == 1
    assert fresh.version == dossier.version + 1


def test_same_action_twice_applies_once(make_dossier, leader):
    dossier = make_dossier(Status.PENDING_APPROVAL)
    outcomes = _race(
        dossier,
        lambda d: services.dossier_approve(actor=actor(leader), dossier=d),
        lambda d: services.dossier_approve(actor=actor(leader), dossier=d),
    )
    assert sorted(map(str, outcomes)) == ["changed", "ok"]
    assert (
        Dossier.objects.get(pk=dossier.pk).events.filter(event_type="dossier.approved").count() == 1
    )


def test_a_slip_asked_for_twice_at_once_is_rendered_once(make_dossier, monkeypatch):
    """Two downloads of a receipt not yet rendered: one renders it, the other waits and gets
    the stored one (an advisory lock, not the dossier's row lock)."""
    import time

    from dossiers import slips
    from dossiers.models import Slip

    dossier = make_dossier(Status.RECEIVED)
    real_render, renders = slips.render_pdf, []

    def slow_render(*args, **kwargs):
        renders.append(1)
        time.sleep(0.5)  # long enough for the other request to arrive meanwhile
        return real_render(*args, **kwargs)

    monkeypatch.setattr(slips, "render_pdf", slow_render)
    found = []

    def download(_stale):
        found.append(slips.slip_for(Dossier.objects.get(pk=dossier.pk), "receipt").pk)

    outcomes = _race(dossier, download, download)
    assert outcomes == ["ok", "ok"]
    assert len(renders) == 1 and len(set(found)) == 1
    assert Slip.objects.filter(dossier=dossier, kind="receipt").count() == 1
    fresh = Dossier.objects.get(pk=dossier.pk)
    assert fresh.events.filter(event_type=EventType.SLIP_RENDERED).count() == 1
