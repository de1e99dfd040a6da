"""On PostgreSQL, refuse TRUNCATE on every append-only table too (the row triggers of 0002, 0010,
0012 and 0014 see UPDATE and DELETE, but TRUNCATE fires no row trigger).

One statement-level BEFORE TRUNCATE trigger per table, calling the same function. Only a role
that may alter the table (its owner) or a superuser can get past them: the application's role
is neither (docs/deployment.md). Django's test flush is a TRUNCATE: the tests run it as a
superuser with `session_replication_role = replica` (tests/conftest.py).
"""

from django.db import migrations

APPEND_ONLY_TABLES = [
    "dossiers_dossierevent",
    "dossiers_accesslogentry",
    "dossiers_feedentry",
    "dossiers_auditanchor",
]
HISTORY_TABLES = [
    "dossiers_historicalagency",
    "dossiers_historicalprocedure",
    "dossiers_historicalproceduredocument",
    "dossiers_historicalprocedurefield",
    "dossiers_historicalmembership",
    "dossiers_historicalcalendarday",
    "dossiers_historicaldossier",
    "dossiers_historicalclockpause",
    "dossiers_historicalattachment",
    "dossiers_historicalwebhooksubscription",
    "citizens_historicalcitizenprofile",
]
TABLES = APPEND_ONLY_TABLES + HISTORY_TABLES


# Append-only since the seals (0017): the anchors, and the subscriptions' history, get the row
# triggers of the others too.
ROW_TRIGGER_TABLES = ["dossiers_auditanchor", "dossiers_historicalwebhooksubscription"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in ROW_TRIGGER_TABLES:
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}; "
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION onestop_refuse_change();",
            params=None,
        )
    for table in TABLES:
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}; "
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION onestop_refuse_change();",
            params=None,
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in ROW_TRIGGER_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};", params=None)
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0002_append_only_trigger"),
        ("dossiers", "0010_history_append_only"),
        ("dossiers", "0012_access_log_append_only"),
        ("dossiers", "0014_feed_append_only"),
        ("dossiers", "0019_verification_run"),
        ("citizens", "0001_initial"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
