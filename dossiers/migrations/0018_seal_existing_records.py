"""Seal the audit records written before seals existed (sealing.py): sign every event and
access-log entry over its existing hash, and chain and sign every history row per object.

It runs with the configured signing key, as the schema's owner, and on PostgreSQL lifts the
append-only triggers for the duration of this migration only."""

from django.db import migrations

from dossiers.sealing import history_row_hash, seal

CHAINED = [("dossiers", "DossierEvent"), ("dossiers", "AccessLogEntry")]


def _history_models(apps):
    return [
        model
        for model in apps.get_models()
        if model._meta.model_name.startswith("historical")
        and model._meta.app_label in {"dossiers", "citizens"}
    ]


def _set_triggers(schema_editor, tables, enabled):
    if schema_editor.connection.vendor != "postgresql":
        return
    state = "ENABLE" if enabled else "DISABLE"
    for table in tables:
        schema_editor.execute(f'ALTER TABLE "{table}" {state} TRIGGER USER', params=None)


def forwards(apps, schema_editor):
    chained = [apps.get_model(*name) for name in CHAINED]
    histories = _history_models(apps)
    unsigned_rows = sum(m.objects.filter(signature="").count() for m in chained) + sum(
        m.objects.filter(signature="").count() for m in histories
    )
    if not unsigned_rows:
        return
    tables = [m._meta.db_table for m in chained + histories]
    if schema_editor.connection.vendor == "postgresql":
        # Pending deferred foreign-key checks would forbid altering the tables' triggers.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE", params=None)
    _set_triggers(schema_editor, tables, enabled=False)
    try:
        for model in chained:
            for row in model.objects.filter(signature="").iterator(chunk_size=2000):
                key_id, signature = seal(row.hash)
                model._base_manager.filter(pk=row.pk).update(key_id=key_id, signature=signature)
        for model in histories:
            object_key = "id"
            previous = {}
            rows = model.objects.order_by(object_key, "history_id").iterator(chunk_size=2000)
            for row in rows:
                seq, prev = previous.get(getattr(row, object_key), (0, ""))
                row.seal_seq, row.seal_prev = seq + 1, prev
                row.seal_hash = history_row_hash(row)
                row.key_id, row.signature = seal(row.seal_hash)
                model._base_manager.filter(pk=row.pk).update(
                    seal_seq=row.seal_seq,
                    seal_prev=row.seal_prev,
                    seal_hash=row.seal_hash,
                    key_id=row.key_id,
                    signature=row.signature,
                )
                previous[getattr(row, object_key)] = (row.seal_seq, row.seal_hash)
    finally:
        _set_triggers(schema_editor, tables, enabled=True)


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0017_audit_seals"),
        ("citizens", "0002_audit_seals"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
