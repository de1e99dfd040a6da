"""Assisted filing: an official at the counter files online on a citizen's behalf.

The filing is counter intake's (`intake.dossier_intake`) with the online channel: received at
once (the official checked the papers with the person in front of them), an electronic copy of
every paper the online channel asks for (the scans made at the counter), the online fee level,
recorded as assisted (who assisted, in the dossier's `assisted_by` and in the intake event's
data) and the applicant told by the usual e-mail of the intake event (notify.py says it was
filed for them, and by whom).

Who the applicant is: the ID number decides, and only where the e-ID has proved it. A citizen
whose account's number came from the e-ID gets the dossier in their account, with their
profile's data (given once, vouched for by the e-ID); the official types nothing more, and the
citizen follows, pays and collects online. Anyone else — no account, or an account whose number
was only typed at sign-up, which proves nothing (whoever registered first with another person's
number must not receive that person's dossier) — is recorded from the details typed at the
counter, as counter intake does, and follows with the receipt's code and lookup key.

The scans go through counter intake's digitisation (`scans=`): each on its paper's own
attachment and in the documents store under the applicant's ID number, so an assisted dossier
counts as digitised and its papers can be reused later.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from ..errors import ValidationFailed
from ..models import Agency, Channel, Dossier, Procedure
from ..validators import APPLICANT_FIELDS, id_number_problem
from .base import Actor
from .intake import dossier_intake


def account_of(id_number: str):
    """The active citizen account whose ID number the e-ID proved, or None."""
    return (
        get_user_model()
        .objects.filter(
            citizen_profile__id_number=id_number,
            citizen_profile__eid_verified_at__isnull=False,
            is_active=True,
        )
        .select_related("citizen_profile")
        .first()
    )


def dossier_file_assisted(
    *,
    actor: Actor,
    procedure: Procedure,
    agency: Agency,
    id_number: str,
    applicant: dict,
    form_data: dict,
    scans: Mapping[int, object],
    requested_delivery: str = "",
    note: str = "",
) -> Dossier:
    """File `procedure` online for the person with `id_number`. `applicant` is what the official
    typed (used only when that person has no account); `scans` maps a procedure document's id
    to its checked upload (services.check_upload): each paper the online channel requires needs
    one. Raises ValidationFailed with every problem, writing nothing."""
    id_number = str(id_number or "").strip()
    problem = id_number_problem(id_number)
    if problem:
        raise ValidationFailed(problem, fields={"id_number": [problem]})
    account = account_of(id_number)
    if account is not None:
        snapshot = account.citizen_profile.snapshot()
    else:
        snapshot = {**applicant, "id_number": id_number}
    answers = dict(form_data)
    for field in procedure.fields.all():
        if field.profile_source in APPLICANT_FIELDS and snapshot.get(field.profile_source):
            answers[field.key] = snapshot[field.profile_source]
    documents = {d.pk: d for d in procedure.documents.all()}
    unknown = set(scans) - set(documents)
    if unknown:
        raise ValidationFailed(fields={"scans": [_("Giấy tờ không thuộc thủ tục này.")]})
    with transaction.atomic():
        dossier = dossier_intake(
            actor=actor,
            procedure=procedure,
            agency=agency,
            applicant=snapshot,
            form_data=answers,
            papers_seen=sorted(scans),
            channel=Channel.ONLINE,
            note=note,
            requested_delivery=requested_delivery,
            assisted_for=account,
            scans=scans,
            no_scan_reasons={},
        )
    return dossier
