"""A read replica (DATABASE_REPLICA_URL, dossiers/replica.py): the supervisors' read-only pages
read from the `replica` alias; writes, transactions, the role check, sessions and every other
page stay on the primary.

On PostgreSQL the alias is added here, built by the settings' own function
(onestop.scaling.replica_database) from the test database's address: as a TEST MIRROR of the
primary (a second connection to the same test database, read-only sessions) for the pages'
correctness, and pointed at a second, real database with other content to prove that the reads
really go there."""

import copy
import io
import uuid
from urllib.parse import quote

import psycopg
import pytest
from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.utils import InternalError, load_backend
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from dossiers import replica
from dossiers.models import Agency, Dossier
from dossiers.replica import REPLICA, reading_from_replica
from dossiers.workflow import Status
from onestop import scaling

WIDE = {"date_from": "2020-01-01", "date_to": "2030-12-31"}


def _url(name: str) -> str:
    db = connections[DEFAULT_DB_ALIAS].settings_dict
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def _forget(alias: str) -> None:
    if alias in connections.settings:
        connections[alias].close()
        del connections[alias]


def _point_replica_at(name: str) -> None:
    """(Re)define the `replica` alias as settings.py would for DATABASE_REPLICA_URL."""
    primary = connections[DEFAULT_DB_ALIAS].settings_dict
    entry = scaling.replica_database({"DATABASE_REPLICA_URL": _url(name)}, primary)
    _forget(REPLICA)
    connections.settings[REPLICA] = connections.configure_settings(
        {DEFAULT_DB_ALIAS: primary, REPLICA: entry}
    )[REPLICA]


# --- without PostgreSQL: the configuration and the fallback ---------------------------------


def test_the_environment_defines_a_read_only_mirrored_replica():
    primary = {"ENGINE": "django.db.backends.postgresql", "CONN_MAX_AGE": 60, "OPTIONS": {}}
    assert scaling.replica_database({}, primary) is None
    entry = scaling.replica_database(
        {"DATABASE_REPLICA_URL": "postgres://ro:pw@replica.internal:5432/onestop"}, primary
    )
    assert entry["HOST"] == "replica.internal" and entry["CONN_MAX_AGE"] == 60
    assert "default_transaction_read_only=on" in entry["OPTIONS"]["options"]
    assert entry["TEST"] == {"MIRROR": "default"}  # tests create no database for it
    sqlite = {"ENGINE": "django.db.backends.sqlite3"}
    with pytest.raises(Exception, match="same kind of database"):
        scaling.replica_database({"DATABASE_REPLICA_URL": "postgres://h/db"}, sqlite)


def test_without_a_replica_everything_reads_the_primary(db):
    assert not replica.configured()
    router = replica.ReplicaRouter()
    with reading_from_replica():
        assert router.db_for_read(Dossier) is None  # Django's default: `default`
        assert Dossier.objects.all().db == DEFAULT_DB_ALIAS


# --- on PostgreSQL: a mirror of the primary ---------------------------------------------------


@pytest.fixture(scope="module")
def mirror(django_db_setup, django_db_blocker):
    """The `replica` alias as a TEST MIRROR: the primary's test database, read-only sessions."""
    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        yield None  # the tests below are skipped (or refused under ONESTOP_REQUIRE_POSTGRES)
        return
    _point_replica_at(connections[DEFAULT_DB_ALIAS].settings_dict["NAME"])
    yield REPLICA
    _forget(REPLICA)
    connections.settings.pop(REPLICA, None)


def _tables(queries) -> str:
    return " ".join(q["sql"] for q in queries)


SUPERVISION_PAGES = [
    ("/supervision/", {}),
    ("/supervision/dossiers/", {"figure": "received"}),
    ("/supervision/audit/", {}),
    ("/supervision/audit/", {"format": "csv"}),
    ("/supervision/access/", {}),
    ("/supervision/export/indicators.csv", {}),
    ("/supervision/export/indicators.xlsx", {}),
    ("/supervision/export/register.csv", {}),
    ("/supervision/export/register.xlsx", {}),
    ("/api/v1/indicators/", {}),
]


@pytest.mark.parametrize(("path", "params"), SUPERVISION_PAGES)
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])
def test_supervision_pages_read_the_dossiers_from_the_replica(
    mirror, client, supervisor, make_dossier, path, params
):
    dossier = make_dossier(Status.RECEIVED)
    client.force_login(supervisor)
    with (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary,
        CaptureQueriesContext(connections[REPLICA]) as read,
    ):
        response = client.get(path, {**WIDE, **params})
        body = (
            b"".join(response.streaming_content) if response.streaming else response.content
        )  # a streamed CSV is read after the view returned: still from the replica
    assert response.status_code == 200
    assert "dossiers_dossier" in _tables(read.captured_queries)
    # The primary served the session, the user and the role check, and no dossier data.
    for table in ("dossiers_dossier", "dossiers_dossierevent", "dossiers_accesslogentry"):
        assert table not in _tables(primary.captured_queries), path
    if path.endswith("register.csv") or path.endswith("dossiers/"):
        assert dossier.code in body.decode()
    if path.endswith("register.xlsx"):
        cells = [c.value for row in load_workbook(io.BytesIO(body)).active.iter_rows() for c in row]
        assert dossier.code in cells


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])
def test_pages_that_read_their_own_writes_stay_on_the_primary(
    mirror, client, supervisor, make_dossier
):
    dossier = make_dossier(Status.RECEIVED)
    client.force_login(supervisor)
    with CaptureQueriesContext(connections[REPLICA]) as read:
        assert client.get(f"/supervision/dossiers/{dossier.pk}/").status_code == 200  # writes
        assert client.get("/supervision/integrity/").status_code == 200  # the run just asked
        assert client.post("/supervision/integrity/verify/").status_code == 302
    assert read.captured_queries == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])
def test_the_replica_refuses_writes(mirror, province):
    with pytest.raises(InternalError, match="read-only transaction"):
        Agency.objects.using(REPLICA).create(code="x", name="x", level="commune")


# --- on PostgreSQL: a second database with other content ---------------------------------------


@pytest.fixture
def separate_replica(mirror, province):
    """`replica` pointed at another real database: the schema, and the province under another
    name, and no dossier at all."""
    name = f"{connections[DEFAULT_DB_ALIAS].settings_dict['NAME']}_replica_{uuid.uuid4().hex[:6]}"
    db = connections[DEFAULT_DB_ALIAS].settings_dict
    server = dict(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"])
    if db["PASSWORD"]:
        server["password"] = db["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        # A connection of its own, not an alias: the test case allows only its declared ones.
        build = load_backend(db["ENGINE"]).DatabaseWrapper({**copy.deepcopy(db), "NAME": name})
        try:
            with build.schema_editor() as editor:
                for model in apps.get_models():  # with their many-to-many tables
                    if model._meta.managed and not model._meta.proxy:
                        editor.create_model(model)
            fields = Agency._meta.concrete_fields
            values = [
                "Tỉnh trên bản sao"
                if f.name == "name"
                else f.get_db_prep_save(getattr(province, f.attname), build)
                for f in fields
            ]
            with build.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {Agency._meta.db_table} ({', '.join(f.column for f in fields)}) "
                    f"VALUES ({', '.join(['%s'] * len(fields))})",
                    values,
                )
        finally:
            build.close()
        _point_replica_at(name)
        yield name
    finally:
        _point_replica_at(db["NAME"])  # the mirror again for the next test
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])
def test_reads_really_go_to_the_replica_database(
    separate_replica, client, supervisor, make_dossier, province
):
    dossier = make_dossier(Status.RECEIVED)
    assert Dossier.objects.count() == 1

    with reading_from_replica():
        assert Dossier.objects.count() == 0  # the replica's content, not the primary's
        assert Agency.objects.get(pk=province.pk).name == "Tỉnh trên bản sao"
        with transaction.atomic():
            assert Dossier.objects.count() == 1  # inside a transaction: the primary
        added = Agency.objects.create(code="000.09.27.H27", name="Xã mới", level="commune")
    assert Agency.objects.filter(pk=added.pk).exists()  # the write went to the primary
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM dossiers_agency WHERE id = %s", [added.pk])
        assert cursor.fetchone()[0] == 0
    assert Agency.objects.get(pk=province.pk).name == province.name  # outside: the primary

    client.force_login(supervisor)  # the role is checked on the primary
    rows = client.get("/supervision/dossiers/", {**WIDE, "figure": "received"}).context["rows"]
    assert rows == []  # the replica holds no dossier yet (as if it lagged)
    audit = client.get("/supervision/audit/", WIDE).content.decode()
    assert "Tỉnh trên bản sao" in audit
    trail = client.get(f"/supervision/dossiers/{dossier.pk}/")
    assert trail.status_code == 200 and dossier.code in trail.content.decode()  # primary
