"""One visibility rule: own dossiers for citizens, agency dossiers for officials, province for
supervisors; drafts are the citizen's alone."""

from dossiers.permissions import can_see, visible_dossiers
from dossiers.workflow import Status


def test_visibility(make_dossier, citizen, citizen2, reception, reception2, supervisor, specialist):
    draft = make_dossier(Status.DRAFT)
    submitted = make_dossier(Status.SUBMITTED)
    assert set(visible_dossiers(citizen)) == {draft, submitted}
    assert not visible_dossiers(citizen2).exists()
    assert list(visible_dossiers(reception)) == [submitted]
    assert list(visible_dossiers(specialist)) == [submitted]
    assert not visible_dossiers(reception2).exists()
    assert list(visible_dossiers(supervisor)) == [submitted]
    for user in (citizen, citizen2, reception, reception2, supervisor):
        for dossier in (draft, submitted):
            assert can_see(user, dossier) == visible_dossiers(user).filter(pk=dossier.pk).exists()


def test_anonymous_sees_nothing(make_dossier):
    from django.contrib.auth.models import AnonymousUser

    make_dossier(Status.SUBMITTED)
    assert not visible_dossiers(AnonymousUser()).exists()


def test_officials_of_the_competent_agency_see_it(make_dossier, province, procedure, reception):
    from dossiers.models import Membership

    from .conftest import _user

    procedure.competent_level = "province"
    procedure.save()
    dossier = make_dossier(Status.SUBMITTED, procedure=procedure)
    assert dossier.competent_agency == province
    provincial = _user("provincial")
    Membership.objects.create(user=provincial, agency=province, role="specialist")
    assert can_see(provincial, dossier)
