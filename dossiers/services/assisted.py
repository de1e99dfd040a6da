"""Assisted filing: an official at the counter files online on a citizen's behalf.

The filing is counter intake's (`intake.dossier_intake`) with the online channel: received at
once (the official checked the papers with the person in front of them), an electronic copy of
every paper the online channel asks for (the scans made at the counter), the online fee level,
recorded as assisted (who assisted, in the dossier's `assisted_by` and in the intake event's
data) and the applicant told by the usual e-mail of the intake event (notify.py says it was
filed for them, and by whom).

Who the applicant is: the ID number decides. A citizen with an account (a profile with that
number) gets the dossier in their account, with their profile's data (given once, and vouched
for by the e-ID when it was); the official types nothing more, and the citizen follows, pays
and collects online. A person without an account is recorded from the details typed at the
counter, as counter intake does.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from ..errors import ValidationFailed
from ..models import Agency, Channel, Dossier, Procedure
from ..validators import APPLICANT_FIELDS, id_number_problem
from .attachments import attachment_add
from .base import Actor
from .intake import dossier_intake


def account_of(id_number: str):
    """The citizen account with this ID number, or None."""
    return (
        get_user_model()
        .objects.filter(citizen_profile__id_number=id_number, is_active=True)
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
        )
        for doc_id in sorted(scans):
            attachment_add(
                actor=actor, dossier=dossier, upload=scans[doc_id], document=documents[doc_id]
            )
    return dossier
