"""seed_demo builds a coherent demo with every status, and is idempotent."""

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command

from dossiers.audit import verify_dossier
from dossiers.models import Agency, Dossier, Procedure
from dossiers.workflow import Status

User = get_user_model()
ACCOUNTS = [
    "citizen",
    "citizen2",
    "reception",
    "specialist",
    "leader",
    "reception2",
    "supervisor",
    "admin",
]


@pytest.fixture
def seeded(db, settings, tmp_path):
    from dossiers.integrations import signing

    # As `make run` does (DEBUG on): the demo CA signs the demo's results.
    settings.ONESTOP_SIGNING_DIR = str(tmp_path / "signing")
    signing.forget_cached()
    call_command("seed_demo", "--force", "--dossiers", "40", stdout=None)
    yield
    signing.forget_cached()


def test_refuses_with_debug_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")
    assert not Dossier.objects.exists()


def test_demo_content(seeded):
    assert Agency.objects.filter(level="commune").count() == 3
    assert Agency.objects.filter(code_is_fictitious=True).count() == 4
    assert Procedure.objects.count() >= 12
    birth = Procedure.objects.get(code="1.001193")
    assert birth.time_limit_value == 0 and birth.confidence == "V" and birth.sources
    assert Dossier.objects.count() == 40
    mine = set(
        Dossier.objects.filter(applicant_user__username="citizen").values_list("status", flat=True)
    )
    assert mine == set(Status.values)  # the demo citizen can see every status
    for username in ACCOUNTS:
        assert authenticate(username=username, password="onestop-demo"), username
    assert User.objects.get(username="admin").is_superuser
    for dossier in Dossier.objects.all():
        assert verify_dossier(dossier) is None


def test_second_run_changes_nothing(seeded):
    counts = (
        Dossier.objects.count(),
        Agency.objects.count(),
        Procedure.objects.count(),
        User.objects.count(),
    )
    call_command("seed_demo", "--force", "--dossiers", "40")
    assert counts == (
        Dossier.objects.count(),
        Agency.objects.count(),
        Procedure.objects.count(),
        User.objects.count(),
    )


def test_demo_residents_get_no_email(seeded):
    from dossiers.models import OutgoingEmail

    assert not OutgoingEmail.objects.exists()


def test_demo_id_numbers_are_valid(seeded):
    """Every ID number the demo makes passes the national format's check (issue 13)."""
    from citizens.models import CitizenProfile
    from dossiers.validators import id_number_problem

    for number, born in CitizenProfile.objects.values_list("id_number", "date_of_birth"):
        assert id_number_problem(number, born) is None, number
    for applicant in Dossier.objects.exclude(applicant={}).values_list("applicant", flat=True):
        if applicant.get("id_number"):
            number, born = applicant["id_number"], applicant.get("date_of_birth")
            assert id_number_problem(number, born) is None, number


def test_demo_shows_the_decision_766_shares(seeded):
    """Some results electronic, some dossiers digitised, some papers reused (docs/indicators.md)."""
    import datetime as dt

    from dossiers import clock, indicators
    from dossiers.models import Attachment, StoredDocument

    supervisor = User.objects.get(username="supervisor")
    today = clock.now().date()
    scope = indicators.Scope(today - dt.timedelta(days=400), today + dt.timedelta(days=1))
    figures = indicators.raw_headline(supervisor, scope, clock.now())
    for share in ("results_electronic_share", "digitised_share", "reuse_share"):
        assert 0 < figures[share] < 100, (share, figures[share])
    reused = Attachment.objects.filter(reused_from__isnull=False)
    assert reused.filter(dossier__applicant_user__username="citizen").exists()
    assert all(a.sha256 == a.reused_from.sha256 for a in reused)
    assert StoredDocument.objects.filter(kind="digitised").exists()
