"""The Django admin: every list opens; dossiers and audit events cannot be edited there."""

import pytest
from django.urls import reverse

from dossiers.models import Dossier, DossierEvent
from dossiers.workflow import Status

MODELS = [
    "dossiers.agency",
    "dossiers.procedure",
    "dossiers.membership",
    "dossiers.calendarday",
    "dossiers.dossier",
    "dossiers.dossierevent",
    "dossiers.outgoingemail",
    "citizens.citizenprofile",
]


@pytest.fixture
def handled(make_dossier):
    return [
        make_dossier(status) for status in (Status.SUBMITTED, Status.PROCESSING, Status.RETURNED)
    ]


@pytest.mark.parametrize("model", MODELS)
def test_changelists_open(admin_client, handled, model):
    app, name = model.split(".")
    assert admin_client.get(reverse(f"admin:{app}_{name}_changelist")).status_code == 200


def test_dossier_list_queries_do_not_grow_with_rows(
    admin_client, make_dossier, django_assert_max_num_queries
):
    for _i in range(6):
        make_dossier(Status.RECEIVED)
    # 11: one of them reads the session's second-factor device (django-otp's OTPMiddleware).
    with django_assert_max_num_queries(11):
        admin_client.get(reverse("admin:dossiers_dossier_changelist"))
    with django_assert_max_num_queries(11):
        admin_client.get(reverse("admin:dossiers_dossierevent_changelist"))


def test_events_and_dossiers_are_read_only_in_admin(admin_client, handled):
    dossier = handled[0]
    event = dossier.events.first()
    url = reverse("admin:dossiers_dossierevent_change", args=[event.pk])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"note": "sửa"}).status_code == 403
    delete = reverse("admin:dossiers_dossierevent_delete", args=[event.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert DossierEvent.objects.filter(pk=event.pk, note="").exists()
    dossier_delete = reverse("admin:dossiers_dossier_delete", args=[dossier.pk])
    assert admin_client.post(dossier_delete, {"post": "yes"}).status_code == 403
    assert Dossier.objects.filter(pk=dossier.pk).exists()
