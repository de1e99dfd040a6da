"""The Django admin is scoped: a commune's staff member sees only their agencies' rows, picks
only their agencies in forms, and cannot change who holds which role where; a superuser sees
everything. Every attack goes through the real admin pages."""

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from citizens.models import CitizenProfile
from dossiers import access
from dossiers.demo import scenarios
from dossiers.models import (
    AccessLogEntry,
    Agency,
    Dossier,
    DossierEvent,
    Membership,
    OutgoingEmail,
    WebhookSubscription,
)
from dossiers.workflow import Role, Status

from .conftest import actor


def _grant(user, *codenames):
    """Staff status and model permissions, as a superuser would give them in the admin."""
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


# Every view right on the admin's models (the test then looks at what each list holds).
VIEW_ALL = [
    "view_agency",
    "view_membership",
    "view_dossier",
    "view_dossierevent",
    "view_accesslogentry",
    "view_outgoingemail",
    "view_webhooksubscription",
    "view_deliveryattempt",
    "view_citizenprofile",
    "view_user",
    "view_group",
    "view_procedure",
    "view_calendarday",
    "view_dbtaskresult",
]


@pytest.fixture
def two_communes(make_dossier, citizen2, reception2, specialist, leader, procedure, other_commune):
    """Dossiers at the commune of `reception`, and one at the other commune (another citizen's,
    read once by the other commune's reception)."""
    ours = [make_dossier(Status.SUBMITTED), make_dossier(Status.PROCESSING)]
    citizen2.email = "citizen2@example.vn"
    citizen2.save(update_fields=["email"])
    cast = scenarios.Cast(citizen=citizen2, reception=reception2, specialist=None, leader=None)
    theirs = scenarios.make_dossier(
        Status.RECEIVED, cast=cast, procedure=procedure, agency=other_commune
    )
    assert theirs.emails.exists()
    for dossier in [*ours, theirs]:
        staff = reception2 if dossier == theirs else ours[0].events.last().actor
        access.record_access(
            actor=actor(staff), dossier=dossier, purpose=AccessLogEntry.Purpose.PROCESSING
        )
    return ours, theirs


@pytest.fixture
def officer(client, reception):
    """The commune's reception officer, with staff status and every view right."""
    _grant(reception, *VIEW_ALL)
    client.force_login(reception)
    return client


def _listed(client, model) -> set:
    response = client.get(
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    )
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].queryset}


def test_a_staff_member_lists_only_their_agencies_rows(
    officer, two_communes, commune, other_commune
):
    ours, theirs = two_communes
    assert _listed(officer, Dossier) == {d.pk for d in ours}
    assert _listed(officer, DossierEvent) == set(
        DossierEvent.objects.filter(dossier__in=ours).values_list("pk", flat=True)
    )
    assert _listed(officer, AccessLogEntry) == set(
        AccessLogEntry.objects.filter(dossier__in=ours).values_list("pk", flat=True)
    )
    emails = _listed(officer, OutgoingEmail)
    assert emails and emails == set(
        OutgoingEmail.objects.filter(dossier__in=ours).values_list("pk", flat=True)
    )
    assert _listed(officer, Agency) == {commune.pk}
    assert _listed(officer, Membership) == set(
        Membership.objects.filter(agency=commune).values_list("pk", flat=True)
    )
    profiles = _listed(officer, CitizenProfile)
    assert profiles == {ours[0].applicant_user.citizen_profile.pk}
    assert theirs.applicant_user.citizen_profile.pk not in profiles


def test_another_communes_rows_do_not_open(officer, two_communes, other_commune):
    _, theirs = two_communes
    pages = [
        reverse("admin:dossiers_dossier_change", args=[theirs.pk]),
        reverse("admin:dossiers_dossierevent_change", args=[theirs.events.first().pk]),
        reverse("admin:dossiers_outgoingemail_change", args=[theirs.emails.first().pk]),
        reverse("admin:dossiers_agency_change", args=[other_commune.pk]),
        reverse(
            "admin:citizens_citizenprofile_change",
            args=[theirs.applicant_user.citizen_profile.pk],
        ),
    ]
    for page in pages:
        response = officer.get(page)
        # The admin answers a row it cannot find by sending back to its index.
        assert response.status_code == 302 and response.url == reverse("admin:index"), page
    for history in [
        reverse("admin:dossiers_dossier_history", args=[theirs.pk]),
        reverse("admin:dossiers_agency_history", args=[other_commune.pk]),
    ]:
        assert officer.get(history).status_code == 404
    version = theirs.history.first().history_id
    revert = reverse("admin:dossiers_dossier_simple_history", args=[theirs.pk, version])
    assert officer.get(revert).status_code == 404
    search = officer.get(reverse("admin:dossiers_dossier_changelist"), {"q": theirs.code})
    assert list(search.context["cl"].result_list) == []


def test_a_superuser_still_sees_everything(admin_client, two_communes):
    ours, theirs = two_communes
    assert _listed(admin_client, Dossier) == {d.pk for d in [*ours, theirs]}
    assert _listed(admin_client, Agency) == set(Agency.objects.values_list("pk", flat=True))
    assert _listed(admin_client, CitizenProfile) == set(
        CitizenProfile.objects.values_list("pk", flat=True)
    )
    assert len(_listed(admin_client, Membership)) == Membership.objects.count()
    page = admin_client.get(reverse("admin:dossiers_dossier_change", args=[theirs.pk]))
    assert page.status_code == 200 and theirs.code in page.content.decode()


def test_an_officer_with_membership_rights_cannot_make_themselves_leader_elsewhere(
    client, reception, commune, other_commune
):
    _grant(reception, "view_membership", "add_membership", "change_membership")
    client.force_login(reception)
    own = Membership.objects.get(user=reception, agency=commune)

    add = client.post(
        reverse("admin:dossiers_membership_add"),
        {"user": reception.pk, "agency": other_commune.pk, "role": Role.LEADER},
    )
    assert add.status_code == 403
    change = client.post(
        reverse("admin:dossiers_membership_change", args=[own.pk]),
        {"user": reception.pk, "agency": other_commune.pk, "role": Role.LEADER},
    )
    assert change.status_code == 403
    # Nor through simple-history's revert page, which saves on POST for anyone who may view.
    version = own.history.first().history_id
    revert = reverse("admin:dossiers_membership_simple_history", args=[own.pk, version])
    assert client.post(revert, {"role": Role.LEADER}).status_code == 403
    assert list(Membership.objects.filter(user=reception).values_list("agency", "role")) == [
        (commune.pk, Role.RECEPTION)
    ]


def test_users_and_groups_change_by_superusers_only(client, reception, reception2):
    _grant(reception, "view_user", "change_user", "add_user", "view_group", "change_group")
    client.force_login(reception)
    own = reverse("admin:auth_user_change", args=[reception.pk])
    response = client.post(own, {"username": "reception", "is_superuser": "on"})
    assert response.status_code == 403
    reception.refresh_from_db()
    assert not reception.is_superuser
    # The other commune's officer is not even listed.
    assert reception2.pk not in _listed(client, type(reception))


def test_a_superuser_changes_memberships(admin_client, reception, other_commune):
    response = admin_client.post(
        reverse("admin:dossiers_membership_add"),
        {"user": reception.pk, "agency": other_commune.pk, "role": Role.LEADER},
    )
    assert response.status_code == 302
    assert Membership.objects.filter(user=reception, agency=other_commune, role="leader").exists()


def test_choices_hold_only_their_agencies(client, reception, commune, other_commune, reception2):
    """A webhook subscription's agencies and owner: another commune's cannot be picked."""
    _grant(reception, "view_webhooksubscription", "add_webhooksubscription")
    client.force_login(reception)
    add = reverse("admin:dossiers_webhooksubscription_add")
    form = client.get(add).context["adminform"].form
    assert set(form.fields["agencies"].queryset) == {commune}
    assert reception2 not in form.fields["owner"].queryset

    response = client.post(
        add,
        {
            "owner": reception.pk,
            "url": "https://portal.example.vn/hook",
            "agencies": [other_commune.pk],
            "profile": "standard",
        },
    )
    assert response.status_code == 200  # the form again, with its error
    assert "agencies" in response.context["adminform"].form.errors
    assert not WebhookSubscription.objects.exists()


def _superusers_only_admins():
    from dossiers.admin import SuperusersOnly

    return [m for m, a in admin.site._registry.items() if isinstance(a, SuperusersOnly)]


def test_other_apps_admins_are_for_superusers_only(client, reception, admin_client):
    """Other apps' admins that fit no agency scope (API tokens, job results, sign-in records,
    second-factor devices, whichever are installed): a staff member holding every right on
    them still gets 403; a superuser opens them."""
    restricted = _superusers_only_admins()
    labels = {m._meta.label for m in restricted}
    assert "django_tasks_database.DBTaskResult" in labels
    if "rest_framework.authtoken" in settings.INSTALLED_APPS:
        assert "authtoken.TokenProxy" in labels
    for model in restricted:
        perms = Permission.objects.filter(content_type__app_label=model._meta.app_label)
        reception.user_permissions.add(*perms)
    _grant(reception)
    client.force_login(reception)
    index = client.get(reverse("admin:index")).content.decode()
    for model in restricted:
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(changelist).status_code == 403, model._meta.label
        assert changelist not in index
        assert admin_client.get(changelist).status_code == 200, model._meta.label


def test_audit_rows_and_dossiers_stay_read_only_even_for_a_superuser(admin_client, two_communes):
    ours, _ = two_communes
    dossier = ours[1]
    entry = AccessLogEntry.objects.filter(dossier=dossier).first()
    change = reverse("admin:dossiers_accesslogentry_change", args=[entry.pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {"purpose": "api"}).status_code == 403
    email = dossier.emails.first()
    change = reverse("admin:dossiers_outgoingemail_change", args=[email.pk])
    assert admin_client.post(change, {"to": "x@example.vn"}).status_code == 403
    # A dossier's history page does not revert it past the workflow.
    first = dossier.history.earliest("history_date")
    revert = reverse("admin:dossiers_dossier_simple_history", args=[dossier.pk, first.history_id])
    assert admin_client.post(revert, {}).status_code == 403
    dossier.refresh_from_db()
    assert dossier.status == Status.PROCESSING


def test_every_admin_is_scoped_or_for_superusers_only():
    """A model admin added later must say whose rows a staff member sees."""
    from dossiers.admin import Scoped, SuperusersOnly

    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, Scoped | SuperusersOnly), model._meta.label
