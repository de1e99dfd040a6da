"""On PostgreSQL, the history tables of django-simple-history are append-only too."""

from django.db import migrations

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
    "citizens_historicalcitizenprofile",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in HISTORY_TABLES:
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}; "
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION onestop_refuse_change();",
            params=None,
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in HISTORY_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0002_append_only_trigger"),
        ("dossiers", "0009_audit_digest"),
        ("citizens", "0001_initial"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
