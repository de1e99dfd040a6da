"""Dossier codes <agency code>-<YYMMDD>-<NNNN>, safe under concurrency."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.utils.translation import gettext as _

from ..errors import ValidationFailed
from ..models import Agency, DossierCodeSequence

MAX_DAILY_SEQUENCE = 9999


def next_dossier_code(agency: Agency, at: dt.datetime) -> str:
    """`<agency code>-<YYMMDD>-<NNNN>`: a per-agency, per-day (Vietnam date) sequence.

    One atomic UPSERT ... RETURNING, so simultaneous submissions each get their own number
    and a number is never handed out twice (the counter only goes up, even on rollback gaps).
    """
    day = at.astimezone(dt.timezone(dt.timedelta(hours=7))).date()
    table = DossierCodeSequence._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            # The table name is the model's own; the values are parameters.
            f"INSERT INTO {table} (agency_id, day, last) VALUES (%s, %s, 1) "  # nosec B608
            f"ON CONFLICT (agency_id, day) DO UPDATE SET last = {table}.last + 1 "
            "RETURNING last",
            [agency.pk, day],
        )
        (number,) = cursor.fetchone()
    if number > MAX_DAILY_SEQUENCE:
        raise ValidationFailed(_("Đã hết số hồ sơ trong ngày của cơ quan này."))
    return f"{agency.code}-{day:%y%m%d}-{number:04d}"
