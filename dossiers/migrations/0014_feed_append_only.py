"""On PostgreSQL, refuse UPDATE and DELETE on the change feed (the outbox other systems follow)
and on the webhook subscriptions' history, as for the audit events and the other history
tables."""

from django.db import migrations

APPEND_ONLY_TABLES = ["dossiers_feedentry"]
HISTORY_TABLES = ["dossiers_historicalwebhooksubscription"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in APPEND_ONLY_TABLES + HISTORY_TABLES:
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}; "
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION onestop_refuse_change();",
            params=None,
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in APPEND_ONLY_TABLES + HISTORY_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0002_append_only_trigger"),
        ("dossiers", "0013_integrations"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
