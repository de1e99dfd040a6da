"""What the public types is forgiven: a lookup key in any case and with spaces (typed from
paper), a catalogue search with i/y spelt either way and without accents."""

import pytest
from django.core.cache import cache

from dossiers.lookup import find_by_lookup
from dossiers.models import Procedure
from dossiers.text import spelling_key
from dossiers.workflow import Status


@pytest.mark.django_db
def test_the_lookup_key_is_found_whatever_its_case_and_spacing(client, make_dossier):
    dossier = make_dossier(Status.RECEIVED)
    key = dossier.lookup_key
    typed = [
        key.lower(),
        f"{key[:5]} {key[5:]}",
        f" {key[:3].lower()} {key[3:6]}  {key[6:].lower()} ",
        "-".join([key[:5], key[5:]]).replace("-", "\t"),
    ]
    for variant in typed:
        assert find_by_lookup(dossier.code, variant) == dossier, variant
        page = client.get("/lookup/", {"code": f" {dossier.code.lower()} ", "key": variant})
        assert page.status_code == 200 and page.context["dossier"] == dossier, variant
        cache.clear()  # the throttle
    assert find_by_lookup(dossier.code, key[:-1] + " ") is None


def test_spelling_key_folds_i_and_y():
    assert spelling_key("Kỹ thuật") == spelling_key("kĩ thuat") == "ki thuat"
    assert spelling_key("Quy định") == spelling_key("qui dinh")


@pytest.mark.django_db
def test_the_catalogue_forgives_i_y_and_missing_accents(client, procedure):
    Procedure.objects.filter(pk=procedure.pk).update(name="Đăng ký kết hôn")
    Procedure.objects.get(pk=procedure.pk).save()  # recomputes the search key
    for query in ("đăng ký", "dang ki", "ĐĂNG KÍ KẾT HÔN", "dang ky ket hon", "đăng kí"):
        page = client.get("/procedures/", {"q": query})
        assert procedure in page.context["page"].object_list, query
    assert procedure not in client.get("/procedures/", {"q": "dang ka"}).context["page"].object_list
