"""The public status lookup by dossier code + lookup key (the portal's page and the API's
endpoint both ask here): no login, so a draft is never found and a wrong key and an unknown
code take the same path."""

from __future__ import annotations

import secrets

from .models import Dossier
from .workflow import Status


def normalize_key(key: str) -> str:
    """The key as printed on the receipt: upper case, without surrounding spaces."""
    return str(key or "").strip().upper()


def find_by_lookup(code: str, key: str) -> Dossier | None:
    """The submitted dossier with this code whose lookup key matches `key` (any case, spaces
    around ignored), else None. The key is compared in constant time, against a random key
    when the code is unknown, so the time taken does not tell which of the two was wrong."""
    code = str(code or "").strip()
    dossier = (
        Dossier.objects.select_related("procedure", "receiving_agency")
        .exclude(status=Status.DRAFT)
        .filter(code=code)
        .first()
        if code
        else None
    )
    expected = dossier.lookup_key if dossier else secrets.token_hex(5)
    # Bytes, not str: compare_digest refuses non-ASCII text, and the key is typed by anyone.
    matches = secrets.compare_digest(expected.encode(), normalize_key(key).encode())
    return dossier if dossier is not None and matches else None
