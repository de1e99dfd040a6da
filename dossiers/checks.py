"""System checks (`manage.py check`) about how the application reaches its database.

The append-only tables rely on triggers (migrations 0002, 0010, 0012, 0014, 0018); a role that
may bypass them defeats them: a superuser (who may disable any trigger or skip them all with
`session_replication_role`), a role with REPLICATION (made for replicas, which skip triggers),
a role with BYPASSRLS. The application's role should own nothing and hold only DML rights
(docs/deployment.md).
"""

from __future__ import annotations

from django.core import checks
from django.db import DatabaseError, connections

ROLE_QUERY = """
SELECT rolname, rolsuper, rolreplication, rolbypassrls FROM pg_roles
WHERE rolname IN (current_user, session_user)
"""


def role_warnings(alias: str, roles: list[tuple[str, bool, bool, bool]]) -> list[checks.Warning]:
    """Warnings for the rows of ROLE_QUERY: one per role and dangerous attribute."""
    found = []
    for name, superuser, replication, bypassrls in roles:
        attributes = [
            label
            for label, present in (
                ("SUPERUSER", superuser),
                ("REPLICATION", replication),
                ("BYPASSRLS", bypassrls),
            )
            if present
        ]
        if attributes:
            found.append(
                checks.Warning(
                    f"The database role {name!r} of the {alias!r} database has "
                    f"{', '.join(attributes)}: it can get past the append-only audit tables' "
                    "triggers.",
                    hint=(
                        "Connect the application with a role that is neither superuser nor "
                        "replication (nor BYPASSRLS), owns no table and has only SELECT, INSERT, "
                        "UPDATE, DELETE; run migrations with the owner role. See "
                        "docs/deployment.md."
                    ),
                    id="onestop.W001",
                )
            )
    return found


def database_role(connection) -> list[tuple[str, bool, bool, bool]]:
    with connection.cursor() as cursor:
        cursor.execute(ROLE_QUERY)
        return [tuple(row) for row in cursor.fetchall()]


@checks.register(checks.Tags.database, checks.Tags.security)
def check_database_role(app_configs=None, databases=None, **kwargs):
    """onestop.W001: the application's PostgreSQL role may bypass the append-only triggers.

    Runs on `manage.py check` (the default database) and whenever Django checks databases; a
    database that cannot be reached is left to the commands that need it."""
    problems = []
    for alias in databases if databases is not None else ["default"]:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        try:
            roles = database_role(connection)
        except DatabaseError:
            continue
        problems.extend(role_warnings(alias, roles))
    return problems


@checks.register(checks.Tags.security, deploy=True)
def check_anchor_file(app_configs=None, **kwargs):
    """onestop.W002: anchors kept only in the database cannot show that its newest records
    were removed by someone who can also remove anchors (docs/integrity.md)."""
    from django.conf import settings

    if settings.ONESTOP_AUDIT_ANCHOR_FILE or not settings.ONESTOP_AUDIT_ANCHORING:
        return []  # a host that does not anchor (docs/scaling.md) keeps no file
    return [
        checks.Warning(
            "ONESTOP_AUDIT_ANCHOR_FILE is not set: the audit anchors are kept in the database "
            "only.",
            hint=(
                "Point it at an append-only file on storage the database administrators cannot "
                "write (see docs/integrity.md)."
            ),
            id="onestop.W002",
        )
    ]


@checks.register(checks.Tags.security)
def check_signing_key(app_configs=None, **kwargs):
    """onestop.E001: the audit signing key must load, or nothing can be recorded."""
    from django.core.exceptions import ImproperlyConfigured

    from .sealing import signing_key

    try:
        signing_key()
    except (ImproperlyConfigured, OSError, ValueError, TypeError) as error:
        return [
            checks.Error(
                f"The audit signing key cannot be loaded: {error}",
                hint="See docs/integrity.md, Keys.",
                id="onestop.E001",
            )
        ]
    return []


@checks.register(checks.Tags.security)
def check_public_url(app_configs=None, **kwargs):
    """onestop.E002: with DEBUG off, links on slips (their QR codes) and in e-mails need the
    site's public address; in development they take the request's (dossiers/links.py)."""
    from django.conf import settings

    from .links import problem

    if settings.DEBUG:
        return []
    found = problem(settings.ONESTOP_PUBLIC_URL)
    if found is None:
        return []
    return [
        checks.Error(
            f"ONESTOP_PUBLIC_URL is required when DEBUG is off, and {found}: "
            f"{settings.ONESTOP_PUBLIC_URL!r}.",
            hint=(
                "Set it to the address citizens open, e.g. https://motcua.example.gov.vn "
                "(docs/deployment.md)."
            ),
            id="onestop.E002",
        )
    ]


@checks.register(checks.Tags.security, deploy=True)
def check_signing_keys(app_configs=None, **kwargs):
    """onestop.W003: agencies' signing keys kept without a passphrase (DEBUG off)."""
    from pathlib import Path

    from django.conf import settings

    directory = getattr(settings, "ONESTOP_SIGNING_DIR", "")
    if settings.DEBUG or not directory or getattr(settings, "ONESTOP_SIGNING_PASSPHRASE", ""):
        return []
    if not any(Path(directory).glob("*.p12")):
        return []
    return [
        checks.Warning(
            "The agencies' signing keys (ONESTOP_SIGNING_DIR) are used without a passphrase.",
            hint=(
                "Encrypt the PKCS#12 files and set ONESTOP_SIGNING_PASSPHRASE from the "
                "environment (docs/integrations.md, signed results)."
            ),
            id="onestop.W003",
        )
    ]
