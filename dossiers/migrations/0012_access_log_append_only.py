"""On PostgreSQL, refuse UPDATE and DELETE on the access log at the database level, as for the
audit events and history tables.

The application already refuses (AccessLogEntry.save/delete, queryset update/delete, read-only
admin); the trigger also stops raw SQL and other clients. TRUNCATE is left, like on the other
append-only tables, to the tamper-evidence work that covers them all (and Django's test flush
is a TRUNCATE).
"""

from django.db import migrations

TABLE = "dossiers_accesslogentry"

CREATE = f"""
DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE};
CREATE TRIGGER {TABLE}_append_only
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION onestop_refuse_change();
"""

DROP = f"""
DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE};
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0002_append_only_trigger"),
        ("dossiers", "0011_access_log"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
