"""Dossier codes: <agency code>-<YYMMDD>-<NNNN>, per agency per Vietnam day, never repeated."""

import re
import threading

import pytest
from django.db import connection

from dossiers import clock
from dossiers.errors import ValidationFailed
from dossiers.models import DossierCodeSequence
from dossiers.services import next_dossier_code
from dossiers.workflow import Status

from .conftest import vn

CODE_RE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}-\d{6}-\d{4}$")


def test_code_format_and_daily_sequence_per_agency(commune, other_commune):
    day = vn(2026, 3, 2, 9)
    codes = [next_dossier_code(commune, day) for _i in range(3)]
    assert codes == [f"000.01.27.H27-260302-000{n}" for n in (1, 2, 3)]
    assert all(CODE_RE.match(code) for code in codes)
    assert next_dossier_code(other_commune, day) == "000.02.27.H27-260302-0001"
    assert next_dossier_code(commune, vn(2026, 3, 3, 9)) == "000.01.27.H27-260303-0001"


def test_the_date_is_the_vietnam_date(commune):
    # 23:30 in Hà Nội is still the same day although it is 16:30 UTC; 00:30 is the next day.
    assert next_dossier_code(commune, vn(2026, 3, 2, 23, 30)).split("-")[1] == "260302"
    assert next_dossier_code(commune, vn(2026, 3, 3, 0, 30)).split("-")[1] == "260303"


def test_sequence_never_exceeds_four_digits(commune):
    DossierCodeSequence.objects.create(agency=commune, day=vn(2026, 3, 2).date(), last=9999)
    with pytest.raises(ValidationFailed):
        next_dossier_code(commune, vn(2026, 3, 2, 10))


def test_submitted_dossiers_get_distinct_codes(make_dossier):
    times = [vn(2026, 3, 2, 8), vn(2026, 3, 2, 8, 5)]
    codes = {make_dossier(Status.SUBMITTED, times=times).code for _i in range(3)}
    assert codes == {f"000.01.27.H27-260302-000{n}" for n in (1, 2, 3)}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_codes_unique_when_many_arrive_at_once(commune):
    """Eight threads, each with its own connection, draw codes at the same instant."""
    moment = vn(2026, 3, 2, 9)
    barrier = threading.Barrier(8)
    drawn, errors = [], []

    def draw():
        try:
            barrier.wait(timeout=10)
            with clock.frozen(moment):
                for _i in range(5):
                    drawn.append(next_dossier_code(commune, clock.now()))
        except Exception as exc:  # reported below; a thread must not die silently
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=draw) for _i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(drawn) == [f"000.01.27.H27-260302-{n:04d}" for n in range(1, 41)]
