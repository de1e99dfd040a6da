"""The public status lookup by dossier code + lookup key (the portal's page and the API's
endpoint both ask here): no login, so a draft is never found and a wrong key and an unknown
code take the same path."""

from __future__ import annotations

import secrets

from .models import Dossier
from .workflow import Status


def normalize_key(key: str) -> str:
    """The key as printed on the receipt: upper case, without any spaces (it is typed from
    paper, often in groups: "abcde fghjk")."""
    return "".join(str(key or "").split()).upper()


def normalize_code(code: str) -> str:
    """The dossier code without the spaces typed into it (its case is matched below)."""
    return "".join(str(code or "").split())


def find_by_lookup(code: str, key: str) -> Dossier | None:
    """The submitted dossier with this code whose lookup key matches `key` (any case, spaces
    anywhere ignored, in the code too), else None. The key is compared in constant time,
    against a random key when the code is unknown, so the time taken does not tell which of
    the two was wrong."""
    code = normalize_code(code)
    dossier = (
        Dossier.objects.select_related("procedure", "receiving_agency")
        .exclude(status=Status.DRAFT)
        # As typed or in upper case (agency codes are, "000.01.27.H27"): both use the index.
        .filter(code__in=sorted({code, code.upper()}))
        .first()
        if code
        else None
    )
    expected = dossier.lookup_key if dossier else secrets.token_hex(5)
    # Bytes, not str: compare_digest refuses non-ASCII text, and the key is typed by anyone.
    matches = secrets.compare_digest(expected.encode(), normalize_key(key).encode())
    return dossier if dossier is not None and matches else None
