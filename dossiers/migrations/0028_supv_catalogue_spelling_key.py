"""The catalogue's search key forgives i/y spellings (dossiers.text.spelling_key): recompute it."""

from django.db import migrations

from dossiers.text import spelling_key


def recompute(apps, schema_editor):
    Procedure = apps.get_model("dossiers", "Procedure")
    for p in Procedure.objects.only("pk", "code", "name", "name_en", "sector").iterator():
        Procedure.objects.filter(pk=p.pk).update(
            search_text=spelling_key(p.code, p.name, p.name_en, p.sector)
        )


class Migration(migrations.Migration):
    dependencies = [("dossiers", "0027_slips_agency_payment_and_online_fee")]

    operations = [migrations.RunPython(recompute, migrations.RunPython.noop)]
