"""Staff reads of personal data go to their own append-only, hash-chained access log: never into
the dossier's audit chain, never locking or changing the dossier; verified like the trail and
read by supervisors on their own page."""

import datetime as dt
import threading
from itertools import pairwise

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from dossiers import access, clock, services
from dossiers.audit import append_event_locked, verify_dossier
from dossiers.bulk_verify import verify_access_log
from dossiers.models import AccessLogEntry, Agency, Dossier, DossierEvent, Membership
from dossiers.supervision import views as supervision
from dossiers.workflow import EventType, Status

from .conftest import User, _user, is_postgres, tamper, vn

TABLE = AccessLogEntry._meta.db_table


def dossier_row(dossier) -> dict:
    """Every column of the dossier row as stored, and how many history rows it has."""
    row = Dossier.objects.filter(pk=dossier.pk).values().get()
    return {**row, "history_rows": Dossier.history.filter(id=dossier.pk).count()}


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def read(user, dossier, purpose=access.Purpose.PROCESSING, ip="203.0.113.7"):
    return access.record_access(
        actor=services.Actor(user=user, ip=ip), dossier=dossier, purpose=purpose
    )


# --- what a read writes -------------------------------------------------------------------------


def test_opening_the_office_page_logs_one_entry_and_leaves_the_dossier_alone(
    client, make_dossier, reception, citizen
):
    dossier = make_dossier(Status.SUBMITTED)
    before, events_before = dossier_row(dossier), dossier.events.count()
    client.force_login(reception)
    with clock.frozen(vn(2026, 3, 2, 10, 15)), CaptureQueriesContext(connection) as queries:
        page = client.get(f"/office/dossiers/{dossier.pk}/")
    assert page.status_code == 200 and "Nguyễn Văn An" in page.content.decode()
    statements = [q["sql"].upper() for q in queries.captured_queries]
    assert not [sql for sql in statements if "FOR UPDATE" in sql]  # no row lock (PostgreSQL)
    assert not [sql for sql in statements if sql.startswith('UPDATE "DOSSIERS_DOSSIER"')]

    assert dossier_row(dossier) == before  # version, event_seq, audit_head, history: unchanged
    assert dossier.events.count() == events_before
    assert not DossierEvent.objects.filter(event_type=EventType.VIEWED).exists()
    entry = AccessLogEntry.objects.get()
    assert entry.seq == 1 and entry.prev_hash == ""
    assert entry.created_at == vn(2026, 3, 2, 10, 15)
    assert (entry.actor, entry.actor_name) == (reception, "Reception")
    assert (entry.roles, entry.agency) == ("reception", dossier.receiving_agency)
    assert entry.dossier_id == dossier.pk
    assert (entry.subject_user, entry.subject_name) == (citizen, "Nguyễn Văn An")
    assert entry.ip == "127.0.0.1"
    assert (entry.purpose, entry.what) == ("processing", "personal_data")
    assert entry.hash == access.entry_hash(entry) and len(entry.hash) == 64
    assert verify_dossier(Dossier.objects.get(pk=dossier.pk)) is None


def test_a_walk_in_reader_of_many_roles(make_dossier, reception, procedure, commune):
    from .test_intake import intake

    walk_in = intake(reception, procedure, commune)
    Membership.objects.create(user=reception, agency=commune, role="specialist")
    entry = read(User.objects.get(pk=reception.pk), walk_in)  # memberships are cached per user
    assert entry.subject_user is None and entry.subject_name == "Phạm Thị Đào"
    assert entry.roles == "reception,specialist" and entry.agency == commune


def test_entries_form_one_chain_across_dossiers(make_dossier, reception, supervisor):
    first, second = make_dossier(Status.SUBMITTED), make_dossier(Status.RECEIVED)
    entries = [
        read(reception, first),
        read(supervisor, second, access.Purpose.SUPERVISION),
        read(reception, second),
    ]
    assert [e.seq for e in entries] == [1, 2, 3]
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(entries))
    assert (entries[1].roles, entries[1].agency.level) == ("supervisor", "province")
    assert list(verify_access_log()) == []


def test_a_concurrent_writer_is_chained_onto(make_dossier, reception, specialist, monkeypatch):
    """Another reader appended after we read the last entry: our insert hits the unique seq,
    and we retry on top of theirs (PostgreSQL's advisory lock makes this rare; see the thread
    test below for real concurrency)."""
    dossier = make_dossier(Status.RECEIVED)
    theirs = read(specialist, dossier)
    real_last, stale = access._last_entry, [None]  # what we saw before they wrote

    def last_entry_seen():
        return stale.pop() if stale else real_last()

    monkeypatch.setattr(access, "_last_entry", last_entry_seen)
    ours = read(reception, dossier)
    assert (theirs.seq, ours.seq) == (1, 2) and ours.prev_hash == theirs.hash
    assert list(verify_access_log()) == []


def test_a_writer_that_keeps_losing_gives_up(make_dossier, reception, monkeypatch):
    dossier = make_dossier(Status.RECEIVED)
    attempts = []

    def seq_always_taken(entry, *args, **kwargs):
        attempts.append(entry.seq)
        raise IntegrityError("UNIQUE constraint failed: dossiers_accesslogentry.seq")

    monkeypatch.setattr(AccessLogEntry, "save", seq_always_taken)
    with pytest.raises(IntegrityError):
        read(reception, dossier)
    assert len(attempts) == access.APPEND_ATTEMPTS


# --- who is logged ------------------------------------------------------------------------------


def test_api_detail_read_by_staff_is_logged_and_the_applicants_own_is_not(
    make_dossier, reception, supervisor, citizen
):
    dossier = make_dossier(Status.RECEIVED)
    url = f"/api/v1/dossiers/{dossier.code}/"
    assert api_client(citizen).get(url).status_code == 200
    assert not AccessLogEntry.objects.exists()

    assert api_client(reception).get(url).status_code == 200
    official = AccessLogEntry.objects.get()
    assert (official.actor, official.purpose, official.what) == (reception, "api", "personal_data")
    assert (official.roles, official.agency, official.ip) == (
        "reception",
        dossier.receiving_agency,
        "127.0.0.1",
    )
    assert api_client(supervisor).get(url).status_code == 200
    assert AccessLogEntry.objects.filter(actor=supervisor, roles="supervisor").count() == 1
    # Lists and the applicant's reads stay unlogged; the dossier is never touched.
    assert api_client(reception).get("/api/v1/dossiers/").status_code == 200
    assert AccessLogEntry.objects.count() == 2
    assert Dossier.objects.get(pk=dossier.pk).version == dossier.version


def test_staff_reading_their_own_dossier_over_the_api_is_not_logged(make_dossier, citizen, commune):
    dossier = make_dossier(Status.RECEIVED)
    Membership.objects.create(user=citizen, agency=commune, role="reception")
    applicant = User.objects.get(pk=citizen.pk)
    assert api_client(applicant).get(f"/api/v1/dossiers/{dossier.code}/").status_code == 200
    assert not AccessLogEntry.objects.exists()


def test_the_supervision_trail_read_is_logged(client, make_dossier, supervisor, province):
    dossier = make_dossier(Status.PROCESSING)
    before = dossier_row(dossier)
    client.force_login(supervisor)
    assert client.get(f"/supervision/dossiers/{dossier.pk}/").status_code == 200
    entry = AccessLogEntry.objects.get()
    assert (entry.actor, entry.purpose, entry.roles) == (supervisor, "supervision", "supervisor")
    assert entry.agency == province and entry.dossier_id == dossier.pk
    assert dossier_row(dossier) == before


def test_the_citizens_own_pages_are_not_logged(client, make_dossier, citizen):
    dossier = make_dossier(Status.RECEIVED)
    client.force_login(citizen)
    assert client.get(f"/my/dossiers/{dossier.pk}/").status_code == 200
    assert not AccessLogEntry.objects.exists()


# --- append-only and verified -------------------------------------------------------------------


def test_the_application_refuses_to_change_entries(make_dossier, reception):
    entry = read(reception, make_dossier(Status.SUBMITTED))
    entry.ip = "10.0.0.1"
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        AccessLogEntry.objects.filter(pk=entry.pk).update(ip="10.0.0.1")
    with pytest.raises(TypeError):
        AccessLogEntry.objects.filter(pk=entry.pk).delete()
    assert list(verify_access_log()) == []


@pytest.fixture
def three_reads(make_dossier, reception):
    dossier = make_dossier(Status.RECEIVED)
    return [read(reception, dossier) for _i in range(3)]


def test_a_good_log_verifies(three_reads, capsys):
    assert list(verify_access_log()) == []
    call_command("verify_audit")
    assert "3 access log entries" in capsys.readouterr().out


def test_an_edited_entry_is_reported(three_reads, capsys):
    middle = three_reads[1]
    tamper(f"UPDATE {TABLE} SET ip = %s WHERE id = %s", ["10.9.9.9", middle.pk], table=TABLE)
    (problem,) = verify_access_log()
    assert (problem.entry_id, problem.seq) == (middle.pk, 2) and "edited" in problem.reason
    with pytest.raises(CommandError, match=f"access log entry #{middle.pk}"):
        call_command("verify_audit")
    assert "BROKEN: access log entry" in capsys.readouterr().err


def test_an_edited_time_is_reported(three_reads):
    first = three_reads[0]
    tamper(
        f"UPDATE {TABLE} SET created_at = created_at + INTERVAL '1 hour' WHERE id = %s"
        if is_postgres()
        else f"UPDATE {TABLE} SET created_at = datetime(created_at, '+1 hour') WHERE id = %s",
        [first.pk],
        table=TABLE,
    )
    assert [p.entry_id for p in verify_access_log()] == [first.pk]


def test_a_deleted_middle_entry_is_reported(three_reads):
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [three_reads[1].pk], table=TABLE)
    (problem,) = verify_access_log()
    assert problem.entry_id == three_reads[2].pk
    assert "sequence jumps from 1 to 3" in problem.reason
    with pytest.raises(CommandError, match="sequence jumps"):
        call_command("verify_audit")


def test_a_rewritten_hash_breaks_the_next_link(three_reads):
    tamper(
        f"UPDATE {TABLE} SET hash = %s WHERE id = %s", ["0" * 64, three_reads[0].pk], table=TABLE
    )
    reasons = [p.reason for p in verify_access_log()]
    assert reasons == ["content does not match its hash (edited)", "previous-hash link broken"]


@pytest.mark.postgres
def test_postgres_refuses_update_and_delete(three_reads):
    entry = three_reads[0]
    for sql in (
        f"UPDATE {TABLE} SET ip = '10.0.0.1' WHERE id = {entry.pk}",
        f"DELETE FROM {TABLE} WHERE id = {entry.pk}",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert AccessLogEntry.objects.count() == 3
    assert list(verify_access_log()) == []


def test_the_admin_shows_entries_read_only(admin_client, three_reads):
    from django.urls import reverse

    entry = three_reads[0]
    assert admin_client.get(reverse("admin:dossiers_accesslogentry_changelist")).status_code == 200
    change = reverse("admin:dossiers_accesslogentry_change", args=[entry.pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {"ip": "10.0.0.1"}).status_code == 403
    delete = reverse("admin:dossiers_accesslogentry_delete", args=[entry.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert list(verify_access_log()) == []


# --- the supervisors' page ----------------------------------------------------------------------


@pytest.fixture
def reads(make_dossier, reception, reception2, supervisor, other_commune):
    """Reads on two days: reception and the supervisor on 2 March, reception2 on 3 March."""
    here = make_dossier(Status.RECEIVED)
    there = make_dossier(Status.SUBMITTED, agency=other_commune)
    with clock.frozen(vn(2026, 3, 2, 9)):
        read(reception, here)
        read(supervisor, here, access.Purpose.SUPERVISION)
    with clock.frozen(vn(2026, 3, 3, 9)):
        read(reception2, there)
    return {"here": here, "there": there}


def test_the_access_page_lists_the_province_newest_first(client, reads, supervisor):
    client.force_login(supervisor)
    page = client.get("/supervision/access/")
    assert page.status_code == 200
    rows = page.context["rows"]
    assert [e.actor.username for e in rows] == ["reception2", "supervisor", "reception"]
    html = page.content.decode()
    assert reads["here"].code in html and "Nguyễn Văn An" in html
    assert "Cán bộ một cửa" in html and "Xử lý hồ sơ" in html and "Giám sát hồ sơ" in html
    assert '<th scope="col">' in html and '<label for="purpose">' in html


def test_the_access_page_shows_only_the_supervisors_province(client, reads, db):
    elsewhere = Agency.objects.create(
        code="000.00.00.H49", name="UBND tỉnh Quảng Ninh", level="province"
    )
    stranger = _user("stranger")
    Membership.objects.create(user=stranger, agency=elsewhere, role="supervisor")
    client.force_login(stranger)
    assert client.get("/supervision/access/").context["rows"] == []
    assert AccessLogEntry.objects.count() == 3


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"actor": "reception2"}, {"reception2"}),
        ({"actor": "nobody"}, set()),
        ({"purpose": "supervision"}, {"supervisor"}),
        ({"purpose": "bogus"}, {"reception", "reception2", "supervisor"}),
        ({"date_from": "2026-03-03"}, {"reception2"}),
        ({"date_to": "2026-03-02"}, {"reception", "supervisor"}),
        ({"date_from": "2026-03-02", "date_to": "2026-03-02"}, {"reception", "supervisor"}),
        ({"date_from": "not a date"}, {"reception", "reception2", "supervisor"}),
    ],
)
def test_the_access_page_filters(client, reads, supervisor, params, expected):
    client.force_login(supervisor)
    rows = client.get("/supervision/access/", params).context["rows"]
    assert {e.actor.username for e in rows} == expected


def test_the_access_page_filters_by_dossier_and_agency(
    client, reads, supervisor, other_commune, province
):
    client.force_login(supervisor)
    by_code = client.get("/supervision/access/", {"code": reads["there"].code}).context["rows"]
    assert {e.dossier_id for e in by_code} == {reads["there"].pk}
    by_agency = client.get("/supervision/access/", {"agency": other_commune.pk}).context["rows"]
    assert {e.actor.username for e in by_agency} == {"reception2"}
    by_province = client.get("/supervision/access/", {"agency": province.pk}).context["rows"]
    assert {e.actor.username for e in by_province} == {"supervisor"}


def test_the_access_page_pages_in_bounded_queries(
    client, make_dossier, reception, supervisor, monkeypatch, django_assert_max_num_queries
):
    dossiers = [make_dossier(Status.RECEIVED) for _i in range(2)]
    with clock.frozen(vn(2026, 3, 2, 9)):  # equal times: the id breaks the tie
        for _i in range(6):
            for dossier in dossiers:
                read(reception, dossier)
    monkeypatch.setattr(supervision, "ACCESS_PAGE", 5)
    client.force_login(supervisor)
    seen, cursor, pages = [], "", 0
    while True:
        with django_assert_max_num_queries(7):
            page = client.get("/supervision/access/", {"after": cursor} if cursor else {})
        seen += [e.pk for e in page.context["rows"]]
        pages, cursor = pages + 1, page.context["next_cursor"]
        if not cursor:
            break
        assert f"after={cursor}" in page.content.decode()
    assert pages == 3 and len(seen) == 12 == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    mangled = client.get("/supervision/access/", {"after": "nonsense"}).context["rows"]
    assert [e.pk for e in mangled] == seen[:5]


@pytest.mark.parametrize("who", ["citizen", "reception", "leader"])
def test_others_cannot_open_the_access_page(client, request, who, db):
    client.force_login(request.getfixturevalue(who))
    response = client.get("/supervision/access/")
    assert response.status_code == 403 and "giám sát" in response.content.decode()


def test_anonymous_is_sent_to_log_in(client, db):
    response = client.get("/supervision/access/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_navigation_links_the_access_page(client, supervisor, reception):
    client.force_login(supervisor)
    assert 'href="/supervision/access/"' in client.get("/supervision/").content.decode()
    client.force_login(reception)
    assert 'href="/supervision/access/"' not in client.get("/office/").content.decode()


# --- reads folded into the trail -------------------------------------------------------------


def test_the_trail_folds_the_reads_into_one_line(client, make_dossier, reception, supervisor):
    dossier = make_dossier(Status.RECEIVED)
    for _i in range(11):
        read(reception, dossier)
    client.force_login(supervisor)
    with clock.frozen(vn(2026, 3, 4, 14, 30)):
        html = client.get(f"/supervision/dossiers/{dossier.pk}/").content.decode()
    assert "Đã xem 12 lần, lần cuối bởi Supervisor lúc 14:30 04/03/2026." in html
    assert f'href="/supervision/access/?code={dossier.code}"' in html
    assert html.count("Xem dữ liệu cá nhân") == 0  # no line per read


def test_the_office_page_folds_the_reads_without_the_supervisors_link(
    client, make_dossier, reception, specialist
):
    dossier = make_dossier(Status.RECEIVED)
    read(specialist, dossier)
    client.force_login(reception)
    with clock.frozen(vn(2026, 3, 4, 8, 5)):
        html = client.get(f"/office/dossiers/{dossier.pk}/").content.decode()
    assert "Đã xem 2 lần, lần cuối bởi Reception lúc 08:05 04/03/2026." in html
    assert "/supervision/access/?code=" not in html


def test_old_viewed_events_still_display(client, make_dossier, reception, supervisor):
    """Reads written into the chain before the access log stay there and still show."""
    dossier = make_dossier(Status.RECEIVED)
    append_event_locked(
        dossier.pk,
        event_type=EventType.VIEWED,
        at=clock.now(),
        actor=reception,
        role="reception",
        agency=dossier.receiving_agency,
        ip="198.51.100.4",
        data={"what": "personal_data"},
    )
    fresh = Dossier.objects.get(pk=dossier.pk)
    assert verify_dossier(fresh) is None
    client.force_login(supervisor)
    trail = client.get(f"/supervision/dossiers/{dossier.pk}/").content.decode()
    assert "Xem dữ liệu cá nhân" in trail and "IP 198.51.100.4" in trail
    client.force_login(reception)
    office = client.get(f"/office/dossiers/{dossier.pk}/").content.decode()
    assert "Xem dữ liệu cá nhân" in office
    call_command("verify_audit")


def test_the_attachment_added_event_type_is_gone():
    assert "dossier.attachment_added" not in EventType.values
    assert EventType.VIEWED in EventType.values


# --- concurrent readers (PostgreSQL) ------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_readers_make_one_unbroken_chain(make_dossier, reception, specialist, leader):
    dossier = make_dossier(Status.RECEIVED)
    readers = [reception, specialist, leader] * 2
    barrier, failures = threading.Barrier(len(readers)), []

    def run(user):
        try:
            barrier.wait(timeout=10)
            read(user, Dossier.objects.get(pk=dossier.pk))
        except Exception as exc:  # reported below, in the test's thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(user,)) for user in readers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    assert sorted(AccessLogEntry.objects.values_list("seq", flat=True)) == list(range(1, 7))
    assert list(verify_access_log()) == []
    assert Dossier.objects.get(pk=dossier.pk).version == dossier.version


def test_entry_times_are_stored_to_the_microsecond(make_dossier, reception):
    moment = dt.datetime(2026, 3, 2, 2, 3, 4, 567891, tzinfo=dt.UTC)
    with clock.frozen(moment):
        entry = read(reception, make_dossier(Status.RECEIVED))
    stored = AccessLogEntry.objects.get(pk=entry.pk)
    assert stored.created_at == moment and access.entry_hash(stored) == stored.hash


def test_the_daily_digest_catches_entries_removed_from_the_end(three_reads):
    """The chain alone cannot see its newest entries removed; the day's stored digest can."""
    from dossiers.audit import record_digest, verify_digests

    today = clock.now().astimezone(dt.timezone(dt.timedelta(hours=7))).date()
    record_digest(today)  # covers every read made so far today
    assert list(verify_digests()) == []
    tamper(f"DELETE FROM {TABLE} WHERE id = %s", [three_reads[2].pk], table=TABLE)
    assert list(verify_access_log()) == []  # still a valid chain, one entry shorter
    (problem,) = verify_digests()
    assert "access log head" in problem and "removed" in problem
    with pytest.raises(CommandError, match="access log head"):
        call_command("verify_audit")
