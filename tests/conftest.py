"""Fixtures: a province with two communes, a procedure, the people, and one factory per state."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from citizens.models import CitizenProfile
from dossiers.demo import scenarios
from dossiers.models import Agency, Membership, Procedure, ProcedureDocument, ProcedureField
from dossiers.services import Actor
from dossiers.workflow import Role
from dossiers.worktime import VN_TZ

from .browser import browser_page, screenshot  # noqa: F401  (fixtures for browser tests)
from .signing_ca import signing_ca, timestamp_authority  # noqa: F401  (a test CA, a TSA)

User = get_user_model()


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Real password hashing costs ~0.2 s a user; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Production serves collected, hashed static files; tests do not run collectstatic.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True, scope="session")
def _flush_past_the_truncate_triggers():
    """Django empties the database after each transactional test with one TRUNCATE, which the
    append-only tables' triggers refuse on PostgreSQL. The test database's role is a superuser:
    it flushes as a replica would, with user triggers off for that transaction only (what only a
    superuser may do, docs/deployment.md)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        if not statements:
            return statements
        return ["SET LOCAL session_replication_role = replica;", *statements]

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


@pytest.fixture(autouse=True)
def _force_login_passes_the_second_factor(monkeypatch):
    """Tests that are not about logging in use `client.force_login`: for staff it also performs
    the second step (a real verification of a recovery code, tests.helpers.pass_second_factor).
    Tests of the login itself go through the login pages."""
    from django.test import Client

    from dossiers.permissions import needs_second_factor

    from .helpers import pass_second_factor

    original = Client.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        if needs_second_factor(user):
            pass_second_factor(self, user)

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture(autouse=True)
def _default_language():
    """A request in English leaves the thread's language active; start every test in Vietnamese."""
    from django.utils import translation

    translation.activate("vi")
    yield
    translation.deactivate()


@pytest.fixture
def province(db):
    return Agency.objects.create(
        code="000.00.00.H27", name="UBND thành phố Hải Phòng", level="province"
    )


@pytest.fixture
def commune(province):
    return Agency.objects.create(
        code="000.01.27.H27", name="UBND xã Vĩnh Bảo", level="commune", parent=province
    )


@pytest.fixture
def other_commune(province):
    return Agency.objects.create(
        code="000.02.27.H27", name="UBND phường Hồng Bàng", level="commune", parent=province
    )


def _procedure(code, **kwargs):
    defaults = dict(
        name="Thủ tục cấp Giấy xác nhận tình trạng hôn nhân",
        sector="Hộ tịch",
        competent_level="commune",
        time_limit_value=3,
        time_limit_unit="working_days",
        fee_vnd=15000,
    )
    defaults.update(kwargs)
    procedure = Procedure.objects.create(code=code, **defaults)
    ProcedureDocument.objects.create(
        procedure=procedure,
        name="Tờ khai cấp Giấy xác nhận tình trạng hôn nhân",
        required=True,
        originals=1,
        order=1,
    )
    ProcedureDocument.objects.create(
        procedure=procedure,
        name="Giấy tờ chứng minh nơi cư trú",
        required=False,
        copies=1,
        order=2,
    )
    ProcedureDocument.objects.create(
        procedure=procedure,
        name="Căn cước công dân",
        required=True,
        kind="present",
        order=3,
    )
    ProcedureField.objects.create(
        procedure=procedure, key="full_name", label="Họ và tên", profile_source="full_name", order=1
    )
    ProcedureField.objects.create(
        procedure=procedure,
        key="purpose",
        label="Mục đích sử dụng",
        type="choice",
        choices=["Kết hôn", "Khác"],
        order=2,
    )
    return procedure


@pytest.fixture
def procedure(db):
    return _procedure("1.004873")


@pytest.fixture
def paused_procedure(db):
    return _procedure("1.004837", name="Thủ tục đăng ký giám hộ", supplement_policy="pause")


@pytest.fixture
def fee_later_procedure(db):
    return _procedure(
        "1.013978", name="Đăng ký đất đai lần đầu", time_limit_value=17, fee_due_later=True
    )


def _user(username, **extra):
    return User.objects.create_user(username=username, password="onestop-test", **extra)


@pytest.fixture
def citizen(db):
    user = _user("citizen", email="citizen@example.vn")
    CitizenProfile.objects.create(
        user=user,
        full_name="Nguyễn Văn An",
        id_number="031090001234",
        phone="0912345678",
        email="citizen@example.vn",
        address="Thôn Đông, xã Vĩnh Bảo, Hải Phòng",
        date_of_birth=dt.date(1990, 5, 17),
    )
    return user


@pytest.fixture
def citizen2(db):
    user = _user("citizen2")
    CitizenProfile.objects.create(user=user, full_name="Trần Thị Bình", id_number="031095004321")
    return user


def _official(username, agency, *roles):
    user = _user(username, first_name=username.title())
    for role in roles:
        Membership.objects.create(user=user, agency=agency, role=role)
    return user


@pytest.fixture
def reception(commune):
    return _official("reception", commune, Role.RECEPTION)


@pytest.fixture
def specialist(commune):
    return _official("specialist", commune, Role.SPECIALIST)


@pytest.fixture
def leader(commune):
    return _official("leader", commune, Role.LEADER)


@pytest.fixture
def reception2(other_commune):
    return _official("reception2", other_commune, Role.RECEPTION)


@pytest.fixture
def specialist2(commune):
    return _official("specialist2", commune, Role.SPECIALIST)


@pytest.fixture
def supervisor(province):
    return _official("supervisor", province, Role.SUPERVISOR)


@pytest.fixture
def cast(citizen, reception, specialist, leader):
    return scenarios.Cast(
        citizen=citizen, reception=reception, specialist=specialist, leader=leader
    )


@pytest.fixture
def make_dossier(cast, procedure, commune):
    """make_dossier(status, procedure=..., times=[...]) walks a new dossier there via services."""

    def factory(status, *, procedure=procedure, agency=commune, times=None):
        return scenarios.make_dossier(
            status, cast=cast, procedure=procedure, agency=agency, times=times
        )

    return factory


@pytest.fixture
def people(citizen, reception, specialist, specialist2, leader):
    """One person per role (as `tests.helpers.fire` expects), and a second specialist."""
    return {
        Role.CITIZEN: citizen,
        Role.RECEPTION: reception,
        Role.SPECIALIST: specialist,
        Role.LEADER: leader,
        "specialist2": specialist2,
    }


def tamper(sql, params=(), *, table="dossiers_dossierevent"):
    """Change rows as someone with database rights would: on PostgreSQL, past the append-only
    triggers (Django's deferred foreign-key checks must run before a table can be altered)."""
    with connection.cursor() as cursor:
        if is_postgres():
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        if is_postgres():
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def actor(user):
    return Actor(user=user, ip="203.0.113.7")


def vn(year, month, day, hour=9, minute=0):
    """An aware datetime in Vietnam time."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests run in the PostgreSQL pass; on SQLite they are reported as skipped.

    With ONESTOP_REQUIRE_POSTGRES=1 (set by .ci/run for that pass) a non-PostgreSQL database is
    an error, so those tests can never be skipped silently on CI.
    """
    import os

    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    on_postgres = "postgresql" in engine
    if os.environ.get("ONESTOP_REQUIRE_POSTGRES") == "1" and not on_postgres:
        raise pytest.UsageError("ONESTOP_REQUIRE_POSTGRES=1 but DATABASE_URL is not PostgreSQL")
    if on_postgres:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: runs in the PostgreSQL pass of .ci/run")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
