"""Counter intake: a walk-in dossier is received at once, with its code and due date."""

import pytest

from dossiers import services
from dossiers.errors import Forbidden, ValidationFailed
from dossiers.models import Channel
from dossiers.workflow import Status

from .conftest import actor

APPLICANT = {
    "full_name": "Phạm Thị Đào",
    "id_number": "031185001111",
    "phone": "0901234567",
    "address": "Thôn Nam, xã Vĩnh Bảo",
}


def intake(user, procedure, agency, **overrides):
    kwargs = dict(
        actor=actor(user),
        procedure=procedure,
        agency=agency,
        applicant=APPLICANT,
        form_data={"full_name": APPLICANT["full_name"], "purpose": "Kết hôn"},
        papers_seen=[d.pk for d in procedure.documents.filter(required=True, kind="submit")],
    )
    kwargs.update(overrides)
    return services.dossier_intake(**kwargs)


def test_walk_in_dossier_is_received_at_once(reception, procedure, commune):
    dossier = intake(reception, procedure, commune)
    assert dossier.status == Status.RECEIVED
    assert dossier.channel == Channel.COUNTER
    assert dossier.applicant_user is None
    assert dossier.applicant["full_name"] == "Phạm Thị Đào"
    assert dossier.code.startswith(commune.code)
    assert dossier.due_at and dossier.received_at
    assert dossier.attachments.filter(paper_original_seen=True).count() == 1
    event = dossier.events.get()
    assert (event.event_type, event.from_status, event.to_status) == (
        "dossier.intake",
        "",
        "received",
    )


def test_intake_needs_reception_of_that_agency(specialist, reception2, procedure, commune):
    with pytest.raises(Forbidden):
        intake(specialist, procedure, commune)
    with pytest.raises(Forbidden):
        intake(reception2, procedure, commune)


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"applicant": {"full_name": ""}}, "full_name"),
        ({"applicant": {**APPLICANT, "id_number": "12345"}}, "id_number"),
        ({"papers_seen": []}, "documents"),
        ({"form_data": {}}, "full_name"),
    ],
)
def test_intake_validation(reception, procedure, commune, override, field):
    with pytest.raises(ValidationFailed) as raised:
        intake(reception, procedure, commune, **override)
    assert field in raised.value.fields
