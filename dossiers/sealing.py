"""Seals: Ed25519 signatures, made with a key the database never holds, on every audit record.

Hash chains show that rows changed; they cannot show who changed them, because anyone who can
write the database can also recompute every hash. A seal can only be made with the private
key, which lives in a file or an environment variable of the application servers
(ONESTOP_AUDIT_SIGNING_KEY_FILE or ONESTOP_AUDIT_SIGNING_KEY). Verification needs only public
keys: the current key's, and those of retired keys, kept outside the database
(ONESTOP_AUDIT_PUBLIC_KEYS_DIR), so a key put into the database by an intruder is never trusted.

Sealed: each dossier event and access-log entry (the signature covers its chain hash), every
row of every django-simple-history table (each object's rows form a chain of their own, so a
forged, edited or removed history row is seen), and the anchors (anchors.py).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

# --- keys ----------------------------------------------------------------------------------------


def key_id_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_key_file(path: Path) -> Ed25519PrivateKey:
    """A new private key in PKCS#8 PEM, readable by its owner only."""
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return key


def _load_private(text: str) -> Ed25519PrivateKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
    else:
        try:
            seed = base64.b64decode(text, validate=True)
        except binascii.Error as error:
            raise ImproperlyConfigured("ONESTOP_AUDIT_SIGNING_KEY is not base64") from error
        if len(seed) != 32:
            raise ImproperlyConfigured("ONESTOP_AUDIT_SIGNING_KEY must be a 32-byte seed")
        key = Ed25519PrivateKey.from_private_bytes(seed)
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured("the audit signing key must be an Ed25519 key")
    return key


@lru_cache(maxsize=4)
def _signing_key(inline: str, path: str, make_if_missing: bool) -> Ed25519PrivateKey:
    if inline:
        return _load_private(inline)
    if not path:
        raise ImproperlyConfigured(
            "No audit signing key: set ONESTOP_AUDIT_SIGNING_KEY_FILE (see docs/integrity.md)."
        )
    file = Path(path)
    if not file.exists():
        if not make_if_missing:
            raise ImproperlyConfigured(f"The audit signing key file {file} does not exist.")
        try:
            return generate_key_file(file)
        except FileExistsError:
            pass  # the server and the worker started together: the other one made it
    return _load_private(file.read_text())


def signing_key() -> Ed25519PrivateKey:
    return _signing_key(
        settings.ONESTOP_AUDIT_SIGNING_KEY,
        str(settings.ONESTOP_AUDIT_SIGNING_KEY_FILE or ""),
        # Only a development server makes its own key (on first start, `make run`).
        bool(settings.DEBUG),
    )


def current_key_id() -> str:
    return key_id_of(signing_key().public_key())


@lru_cache(maxsize=4)
def _retired_keys(directory: str) -> dict[str, Ed25519PublicKey]:
    found = {}
    if directory and Path(directory).is_dir():
        for file in sorted(Path(directory).glob("*.pem")):
            key = serialization.load_pem_public_key(file.read_bytes())
            if isinstance(key, Ed25519PublicKey):
                found[key_id_of(key)] = key
    return found


def trusted_keys() -> dict[str, Ed25519PublicKey]:
    """Key id -> public key: retired keys from the keyring directory, and the current one."""
    keys = dict(_retired_keys(str(settings.ONESTOP_AUDIT_PUBLIC_KEYS_DIR or "")))
    current = signing_key().public_key()
    keys[key_id_of(current)] = current
    return keys


def public_keys_pem() -> str:
    """Every trusted public key in PEM, each preceded by its key id: what a supervisor
    downloads to verify exports and anchors away from this server."""
    parts = []
    for kid, key in sorted(trusted_keys().items()):
        pem = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        parts.append(f"# onestop audit key {kid}\n{pem}")
    return "".join(parts)


def reset_key_cache() -> None:
    """Forget loaded keys (after rotation, and in tests that change the settings)."""
    _signing_key.cache_clear()
    _retired_keys.cache_clear()


# --- seals ---------------------------------------------------------------------------------------


def seal(digest: str) -> tuple[str, str]:
    """(key id, base64 signature) over a hex digest."""
    key = signing_key()
    signature = key.sign(digest.encode("ascii"))
    return key_id_of(key.public_key()), base64.b64encode(signature).decode("ascii")


def seal_problem(key_id: str, signature: str, digest: str, keys=None) -> str | None:
    """Why the seal does not hold, or None when it does."""
    if not signature:
        return "not signed"
    key = (keys if keys is not None else trusted_keys()).get(key_id)
    if key is None:
        return f"signed with unknown key {key_id or '?'}"
    try:
        key.verify(base64.b64decode(signature), digest.encode("ascii"))
    except (InvalidSignature, binascii.Error, ValueError):
        return "signature does not match (forged or altered)"
    return None


def seal_form_problem(key_id: str, signature: str, keys) -> str | None:
    """What can be said of a seal without the signature arithmetic (about 1 µs against
    100 µs or more): it is there, names a trusted key and is 64 bytes of base64. The bulk
    verification asks this of every record and checks the signature itself where the
    chain needs it (see docs/integrity.md, "Verifying in bulk")."""
    if not signature:
        return "not signed"
    if key_id not in keys:
        return f"signed with unknown key {key_id or '?'}"
    try:
        if len(base64.b64decode(signature, validate=True)) == 64:
            return None
    except (binascii.Error, ValueError):
        pass
    return "signature does not match (forged or altered)"


# --- sealed history rows -------------------------------------------------------------------------

# Columns of a history row that its own seal does not cover: the seal itself, the row's id
# (assigned by the database after the seal is made), and when the row was stored (anchors).
SEAL_COLUMNS = {"seal_seq", "seal_prev", "seal_hash", "key_id", "signature", "recorded_at"}
NOT_SEALED = {"history_id", *SEAL_COLUMNS}


class SealedHistory(models.Model):
    """Base of every django-simple-history model here (`HistoricalRecords(bases=[...])`): each
    object's history rows form a chain (seq, previous hash), and each row is signed."""

    seal_seq = models.PositiveIntegerField(default=0, editable=False)
    seal_prev = models.CharField(max_length=64, blank=True, editable=False)
    seal_hash = models.CharField(max_length=64, blank=True, editable=False)
    key_id = models.CharField(max_length=16, blank=True, editable=False)
    signature = models.CharField(max_length=88, blank=True, editable=False)
    recorded_at = models.DateTimeField(
        db_default=models.functions.Now(), editable=False, db_index=True
    )

    class Meta:
        abstract = True


def canonical_time(value: dt.datetime) -> str:
    """An aware datetime as UTC text with microseconds (isoformat: strftime costs 5 times as
    much, and the bulk verification formats every timestamp of every record)."""
    value = value.astimezone(dt.UTC)
    if value.year < 1000:  # isoformat pads the year, strftime does not
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def canonical_value(field, value):
    """A column's value as the database gives it back, in one textual form, so that a seal
    made before the insert recomputes from the stored row."""
    if value is None:
        return None
    return canonical_converter(field)(value)


_CONVERTERS: dict[int, tuple] = {}


def canonical_converter(field):
    """The function canonical_value applies to a non-null value of `field` (chosen once per
    field: the choice by type costs more than the conversion)."""
    known = _CONVERTERS.get(id(field))
    if known is not None and known[0] is field:
        return known[1]
    converter = _make_converter(field)
    _CONVERTERS[id(field)] = (field, converter)
    return converter


def _make_converter(field):
    if isinstance(field, models.DateTimeField):

        def convert(value):
            if not isinstance(value, dt.datetime):
                value = field.to_python(value)
            if value.tzinfo is None:
                value = value.replace(tzinfo=dt.UTC)
            return canonical_time(value)

        return convert
    if isinstance(field, models.DateField):
        return lambda value: field.to_python(value).isoformat()
    if isinstance(field, models.DecimalField):
        places = decimal.Decimal(1).scaleb(-field.decimal_places)
        return lambda value: str(decimal.Decimal(str(value)).quantize(places))
    if isinstance(field, models.JSONField):
        return lambda value: json.loads(json.dumps(value, default=str))
    if isinstance(field, models.FileField):
        return lambda value: str(value.name if hasattr(value, "name") else value)
    if isinstance(field, models.BooleanField):
        return bool
    if isinstance(field, models.IntegerField | models.AutoField | models.BigIntegerField):
        return int
    if isinstance(field, models.ForeignKey):
        return canonical_converter(field.target_field)
    if isinstance(field, models.GenericIPAddressField):
        return field.to_python
    return str


def history_row_hash(row) -> str:
    return history_values_hash(type(row), lambda attname: getattr(row, attname))


def sealed_fields(model) -> list:
    """The fields of a history model that its rows' hash covers."""
    known = _SEALED_FIELDS.get(model)
    if known is None:
        known = _SEALED_FIELDS[model] = [
            f for f in model._meta.concrete_fields if f.attname not in NOT_SEALED
        ]
    return known


_SEALED_FIELDS: dict = {}


# Columns added to a sealed history table after rows were sealed, by history table. The rows
# sealed before never had them, so an empty value (None, "", False, [] or {}: what such a column
# holds until it is used) is left out of the hash: those rows still verify after the migration,
# and a filled value is sealed like any other column.
# Every column added to a sealed history table from now on must be named here.
ADDED_LATER = {
    "dossiers.historicalagency": frozenset(
        {
            "place_name",
            "office_hours",
            "bank_account_number",
            "bank_name",
            "bank_beneficiary",
            "bank_bin",
        }
    ),
    "dossiers.historicalprocedure": frozenset(
        {"fee_online_vnd", "eid_required", "eid_min_acr", "result_document_type_id"}
    ),
    "dossiers.historicaldossier": frozenset({"eid_acr", "assisted_by_id"}),
    "citizens.historicalcitizenprofile": frozenset(
        {"eid_issuer", "eid_subject", "eid_verified_at"}
    ),
    "dossiers.historicalproceduredocument": frozenset({"document_type_id"}),
    "dossiers.historicalattachment": frozenset({"no_scan_reason", "reused_from_id"}),
}


def unused_later_column(value) -> bool:
    # Not `value in (...)`: 0 == False, and a 0 is a value like any other.
    return value is None or value is False or (type(value) in (str, list, dict) and not value)


def history_values_hash(model, value_of, *, stored: bool = False) -> str:
    """The seal hash of a history row of `model`, `value_of(attname)` giving its columns (a
    model instance's attributes, or a row read with values_list). `stored`: the values were
    just decoded from the database, so JSON values are already in their canonical form."""
    content = {}
    added_later = ADDED_LATER.get(model._meta.label_lower, ())
    for f in sealed_fields(model):
        value = value_of(f.attname)
        if f.attname in added_later and unused_later_column(value):
            continue
        if value is None:
            content[f.attname] = None
        elif stored and isinstance(f, models.JSONField):
            content[f.attname] = value
        else:
            content[f.attname] = canonical_converter(f)(value)
    return history_content_hash(
        model._meta.label_lower, content, value_of("seal_seq"), value_of("seal_prev")
    )


def history_content_hash(label: str, content: dict, seal_seq: int, seal_prev: str) -> str:
    """The seal hash of a history row from its canonical column values (`canonical_value`)
    without the NOT_SEALED ones; bench/seed.py calls it on values it built itself."""
    content = {**content, "model": label, "seal_seq": seal_seq, "seal_prev": seal_prev}
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def seal_history_row(history_instance, **_kwargs) -> None:
    """django-simple-history's pre_create_historical_record: chain the new row onto the
    object's previous one and sign it. The object's own row is locked by the save that wrote
    this history, so two writers of one object cannot take the same place in its chain."""
    model = type(history_instance)
    if not issubclass(model, SealedHistory):
        return
    key = object_key(model)
    previous = (
        model.objects.filter(**{key: getattr(history_instance, key)})
        .order_by("-seal_seq", "-history_id")
        .values_list("seal_seq", "seal_hash")
        .first()
    )
    history_instance.seal_seq = previous[0] + 1 if previous else 1
    history_instance.seal_prev = previous[1] if previous else ""
    history_instance.seal_hash = history_row_hash(history_instance)
    history_instance.key_id, history_instance.signature = seal(history_instance.seal_hash)


def object_key(model) -> str:
    """The history column holding the tracked object's primary key (`id` here)."""
    return model.instance_type._meta.pk.attname


def sealed_history_models() -> list:
    from django.apps import apps

    return [m for m in apps.get_models() if issubclass(m, SealedHistory)]
