"""Every (status, action) pair: allowed ones succeed with the right target, others are refused."""

import pytest

from dossiers.errors import InvalidTransition, NotFound
from dossiers.models import Dossier
from dossiers.services import ACTION_SERVICES
from dossiers.workflow import ACTION_EVENT, BACK_TO_REQUESTER, SAME, Status, edge_for

from .helpers import fire, user_for

PAIRS = [(status, action) for status in Status.values for action in ACTION_SERVICES]


@pytest.fixture
def people(citizen, reception, specialist, specialist2, leader):
    return {
        "citizen": citizen,
        "reception": reception,
        "specialist": specialist,
        "specialist2": specialist2,
        "leader": leader,
    }


@pytest.mark.parametrize(("status", "action"), PAIRS, ids=[f"{s}-{a}" for s, a in PAIRS])
def test_status_action_pair(status, action, make_dossier, fee_later_procedure, people):
    dossier = make_dossier(status, procedure=fee_later_procedure)
    assert dossier.status == status
    events_before, version_before = dossier.events.count(), dossier.version
    edge = edge_for(action, status)
    user = user_for(action, status, people)

    if edge is None:
        # A draft is the citizen's alone: for officials it does not exist (404, not 409).
        expected_error = (
            NotFound if status == Status.DRAFT and user != people["citizen"] else InvalidTransition
        )
        with pytest.raises(expected_error):
            fire(action, dossier, user, people)
        fresh = Dossier.objects.get(pk=dossier.pk)
        assert fresh.status == status
        assert fresh.version == version_before
        assert fresh.events.count() == events_before
        return

    result = fire(action, dossier, user, people)
    expected = {SAME: status, BACK_TO_REQUESTER: Status.PROCESSING}.get(edge.target, edge.target)
    fresh = Dossier.objects.get(pk=dossier.pk)
    assert result.status == fresh.status == expected
    assert fresh.version == version_before + 1
    last = fresh.events.order_by("-seq").first()
    assert fresh.events.count() == events_before + 1
    assert last.event_type == ACTION_EVENT[action]
    assert (last.from_status, last.to_status) == (status, expected)
    assert last.actor == user
