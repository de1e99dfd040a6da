"""bench/seed.py: the bulk-loaded dossiers are what the application itself would have written —
every chain, seal and history row verifies, pages show them, and the services carry on."""

import importlib.util
from collections import Counter
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from dossiers import services
from dossiers.audit import verify_dossier
from dossiers.demo.scenarios import sample_answer
from dossiers.models import Agency, Dossier, DossierEvent, Procedure
from dossiers.services import Actor
from dossiers.text import search_key
from dossiers.verification import verify_everything
from dossiers.workflow import CLOCK_RUNNING_STATUSES, Status

pytestmark = pytest.mark.postgres

_spec = importlib.util.spec_from_file_location(
    "bench_seed", Path(__file__).resolve().parent.parent / "bench" / "seed.py"
)
bench_seed = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_seed)

User = get_user_model()


@pytest.fixture
def seeded(db):
    return bench_seed.seed(dossiers=300, communes=3, seed=7, jobs=0, log=lambda _m: None)


def test_every_status_at_every_commune(seeded):
    assert seeded["dossiers"] == Dossier.objects.count() == 300
    assert set(Dossier.objects.values_list("status", flat=True)) == set(Status.values)
    communes = Agency.objects.filter(level=Agency.Level.COMMUNE)
    per_commune = Counter(Dossier.objects.values_list("receiving_agency__code", flat=True))
    assert per_commune == {agency.code: 100 for agency in communes}
    for agency in communes:
        here = set(Dossier.objects.filter(receiving_agency=agency).values_list("status", flat=True))
        assert here == set(Status.values)
    assert DossierEvent.objects.count() == seeded["events"] >= 4 * 300


def test_the_rows_are_what_the_services_would_write(seeded):
    codes = list(Dossier.objects.exclude(code=None).values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == Dossier.objects.exclude(status=Status.DRAFT).count()
    online = Dossier.objects.filter(channel=2).exclude(status=Status.DRAFT)
    assert online.exclude(applicant_user=None).count() == online.count()
    assert not Dossier.objects.filter(channel=1).exclude(applicant_user=None).exists()
    for dossier in Dossier.objects.exclude(status__in=[Status.DRAFT, Status.SUBMITTED])[:50]:
        name = dossier.applicant["full_name"]
        assert len(name.split()) >= 3 and len(dossier.applicant["id_number"]) == 12
        assert dossier.search_text == search_key(dossier.code, name, dossier.applicant["id_number"])
    running = Dossier.objects.filter(status__in=CLOCK_RUNNING_STATUSES)
    assert all(d.original_due_at > d.received_at for d in running)
    assert Dossier.objects.filter(status=Status.PROCESSING, assignee=None).count() == 0
    assert Dossier.objects.exclude(rating="").exists()


def test_verify_audit_finds_nothing(seeded):
    report = verify_everything()
    assert report.problems == [] and report.ok
    assert report.counts["events"] == seeded["events"]


def test_officials_log_in_and_see_their_dossiers(seeded, client):
    reception = User.objects.get(username="reception-2")
    assert reception.check_password("onestop-demo")
    assert reception.totpdevice_set.filter(confirmed=True).exists()
    assert User.objects.filter(username__in=["specialist-3", "leader-1", "supervisor"]).count() == 3
    dossier = Dossier.objects.filter(
        receiving_agency__code="000.00.02.H27", status=Status.PROCESSING
    ).first()
    client.force_login(reception)
    page = client.get(f"/office/dossiers/{dossier.pk}/")
    assert page.status_code == 200
    assert dossier.code in page.content.decode()


def test_the_services_carry_on(seeded):
    reception = User.objects.get(username="reception-1")
    agency = Agency.objects.get(code="000.00.01.H27")
    submitted = Dossier.objects.filter(receiving_agency=agency, status=Status.SUBMITTED).first()
    received = services.dossier_receive(actor=Actor(user=reception), dossier=submitted)
    assert received.status == Status.RECEIVED and verify_dossier(received) is None

    procedure = Procedure.objects.get(code="2.000635")
    applicant = {
        "full_name": "Lê Thị Hoa",
        "id_number": "031190123456",
        "date_of_birth": "1990-03-04",
        "phone": "0912345670",
        "email": "",
        "address": "Thôn 3, xã An Lão, thành phố Hải Phòng",
    }
    new = services.dossier_intake(
        actor=Actor(user=reception),
        procedure=procedure,
        agency=agency,
        applicant=applicant,
        form_data={f.key: sample_answer(f, applicant) for f in procedure.fields.all()},
        papers_seen=[d.pk for d in procedure.documents.all() if d.must_be_uploaded(1)],
    )
    assert Dossier.objects.filter(code=new.code).count() == 1
    assert verify_dossier(new) is None
    assert verify_everything().problems == []
