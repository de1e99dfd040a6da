"""On PostgreSQL, refuse UPDATE and DELETE on the audit event table at the database level.

The application already refuses (DossierEvent.save/delete, queryset update/delete, read-only
admin); the trigger also stops raw SQL and other clients. Tests that simulate tampering disable
the trigger explicitly, as an attacker with DBA rights would have to.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION onestop_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'onestop: % on % is not allowed (append-only audit table)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS dossierevent_append_only ON dossiers_dossierevent;
CREATE TRIGGER dossierevent_append_only
    BEFORE UPDATE OR DELETE ON dossiers_dossierevent
    FOR EACH ROW EXECUTE FUNCTION onestop_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS dossierevent_append_only ON dossiers_dossierevent;
DROP FUNCTION IF EXISTS onestop_refuse_change();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("dossiers", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
