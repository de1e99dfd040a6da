"""On PostgreSQL the append-only tables refuse TRUNCATE as they refuse UPDATE and DELETE, and
`manage.py check` warns when the application's role could get past those triggers."""

from importlib import import_module

import pytest
from django.apps import apps
from django.core import checks
from django.db import DatabaseError, connection, connections, transaction

from dossiers.checks import check_database_role, database_role, role_warnings
from dossiers.models import AppendOnlyQuerySet

TRUNCATE = import_module("dossiers.migrations.0020_truncate_append_only")


def _later_tables(listing: str) -> list[str]:
    """Append-only (APPEND_ONLY_TABLES) or history (HISTORY_TABLES) tables made after 0020 by
    migrations that set their own triggers, each listing them (found by name, whatever the
    migration's number)."""
    import pkgutil

    import dossiers.migrations as package

    tables = []
    for module in pkgutil.iter_modules(package.__path__):
        if module.name[:4].isdigit() and module.name[:4] > "0020":
            tables += getattr(import_module(f"{package.__name__}.{module.name}"), listing, [])
    return tables


LATER = _later_tables("APPEND_ONLY_TABLES")
LATER_HISTORY = _later_tables("HISTORY_TABLES")


def test_every_append_only_and_history_table_is_listed():
    append_only = {
        m._meta.db_table
        for m in apps.get_models()
        if isinstance(m._default_manager.get_queryset(), AppendOnlyQuerySet)
    }
    historical = {
        m._meta.db_table for m in apps.get_models() if m.__name__.startswith("Historical")
    }
    assert "citizens_historicalcitizenprofile" in historical
    assert "dossiers_historicalattachment" in historical
    assert "dossiers_payment" in LATER
    assert set(TRUNCATE.APPEND_ONLY_TABLES) | set(LATER) == append_only
    assert set(TRUNCATE.TABLES) | set(LATER) | set(LATER_HISTORY) == append_only | historical


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("table", TRUNCATE.TABLES + LATER + LATER_HISTORY)
def test_postgres_refuses_truncate(table):
    with (
        pytest.raises(DatabaseError, match=f"TRUNCATE on {table} is not allowed"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"TRUNCATE {table} CASCADE")


# --- onestop.W001 --------------------------------------------------------------------------------


def test_a_superuser_or_replication_role_is_warned_about():
    (superuser,) = role_warnings("default", [("onestop", True, False, False)])
    assert superuser.id == "onestop.W001" and "SUPERUSER" in superuser.msg
    (replication,) = role_warnings("default", [("onestop", False, True, True)])
    assert "REPLICATION, BYPASSRLS" in replication.msg
    assert role_warnings("default", [("onestop_app", False, False, False)]) == []


def test_nothing_to_say_about_sqlite(db):
    if connection.vendor == "postgresql":
        pytest.skip("the SQLite pass")
    assert check_database_role(databases=["default"]) == []


@pytest.mark.postgres
@pytest.mark.django_db
def test_check_warns_about_the_test_databases_superuser():
    """The test database's role, postgres, is a superuser (and may replicate)."""
    warnings = checks.run_checks(databases=["default"])
    (warning,) = [w for w in warnings if w.id == "onestop.W001"]
    assert "'postgres'" in warning.msg and "SUPERUSER" in warning.msg
    assert [w.id for w in check_database_role()] == ["onestop.W001"]  # `manage.py check`


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_plain_role_is_not_warned_about():
    role = f"onestop_plain_{connection.settings_dict['NAME']}"[:63]
    with connection.cursor() as cursor:
        cursor.execute(f'DROP ROLE IF EXISTS "{role}"')
        cursor.execute(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOREPLICATION NOBYPASSRLS')
    default = connections["default"]
    plain = default.__class__({**default.settings_dict, "USER": role}, alias="plain")
    try:
        roles = database_role(plain)
        assert roles == [(role, False, False, False)]
        assert role_warnings("plain", roles) == []
    finally:
        plain.close()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP ROLE "{role}"')
