"""Settings for running on more than one machine (docs/scaling.md), read from the environment.

Pure functions over a mapping (os.environ in settings.py, a plain dict in the tests), so the
tests build their storage and replica settings with the very code production runs:

- object storage: `ONESTOP_S3_*` puts every stored file (documents, slips) in a private bucket
  of an S3-compatible store instead of MEDIA_ROOT;
- a read replica: `DATABASE_REPLICA_URL` adds the `replica` database alias that the
  supervisors' read-only pages read from (dossiers/replica.py).

Imports nothing from Django's app machinery: settings.py calls it before apps load.
"""

from __future__ import annotations

from collections.abc import Mapping

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

S3_BACKEND = "dossiers.storage.PrivateS3Storage"
ADDRESSING_STYLES = ("auto", "path", "virtual")


def object_storage(environ: Mapping[str, str]) -> dict | None:
    """The STORAGES["default"] entry for an S3-compatible bucket, or None for the local disk.

    Credentials left unset fall back to boto3's own chain (AWS_* variables, an instance role).
    """
    bucket = environ.get("ONESTOP_S3_BUCKET", "").strip()
    if not bucket:
        return None
    style = environ.get("ONESTOP_S3_ADDRESSING_STYLE", "").strip() or None
    if style and style not in ADDRESSING_STYLES:
        raise ImproperlyConfigured(
            f"ONESTOP_S3_ADDRESSING_STYLE must be one of {', '.join(ADDRESSING_STYLES)}"
        )
    ca_bundle = environ.get("ONESTOP_S3_CA_BUNDLE", "").strip()
    return {
        "BACKEND": S3_BACKEND,
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": environ.get("ONESTOP_S3_ENDPOINT_URL", "").strip() or None,
            "region_name": environ.get("ONESTOP_S3_REGION", "").strip() or None,
            "access_key": environ.get("ONESTOP_S3_ACCESS_KEY_ID", "") or None,
            "secret_key": environ.get("ONESTOP_S3_SECRET_ACCESS_KEY", "") or None,
            # Every key under this prefix: one bucket may serve several installations.
            "location": environ.get("ONESTOP_S3_PREFIX", "").strip().strip("/"),
            "addressing_style": style,
            # A download is buffered from the store before it is streamed to the client: in
            # memory up to this size, beyond it in an anonymous temporary file (deleted when
            # closed; FILE_UPLOAD_TEMP_DIR or the system's), never under MEDIA_ROOT.
            "max_memory_size": int(
                environ.get("ONESTOP_S3_MAX_MEMORY_BYTES", str(4 * 1024 * 1024))
            ),
            **({"verify": ca_bundle} if ca_bundle else {}),
        },
    }


def replica_database(environ: Mapping[str, str], default: dict) -> dict | None:
    """The `replica` DATABASES entry from DATABASE_REPLICA_URL, or None.

    It connects as the primary does (the same options: pool, timeouts), at its own address, and
    its sessions are read-only (`default_transaction_read_only`), so a write sent there by
    mistake fails loudly even on a replica that would accept it (a logical one). In tests it
    mirrors the primary's test database (Django creates no database for it)."""
    url = environ.get("DATABASE_REPLICA_URL", "").strip()
    if not url:
        return None
    replica = dj_database_url.parse(
        url, conn_max_age=default.get("CONN_MAX_AGE", 0), conn_health_checks=True
    )
    if replica["ENGINE"] != default["ENGINE"]:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL must name the same kind of database as DATABASE_URL"
        )
    options = {**default.get("OPTIONS", {}), **replica.get("OPTIONS", {})}
    if "postgresql" in replica["ENGINE"]:
        options["options"] = " ".join(
            part
            for part in (options.get("options", ""), "-c default_transaction_read_only=on")
            if part
        )
    replica["OPTIONS"] = options
    replica["TEST"] = {"MIRROR": "default"}
    return replica
