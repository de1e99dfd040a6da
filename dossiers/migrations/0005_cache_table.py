"""Create the database cache table (settings.CACHES) with the schema, so it cannot be forgotten."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("dossiers", "0004_search_slips_client_token")]
    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
