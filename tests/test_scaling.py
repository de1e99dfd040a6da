"""Settings for more than one machine (docs/scaling.md): the environment selects object storage
and a read replica in the real settings module; sessions, cache, throttles and lockouts are
shared through the database; one host anchors the audit trail."""

import datetime as dt

import psycopg
import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from dossiers import anchors
from dossiers.checks import check_anchor_file
from dossiers.workflow import Status

from .test_settings import PRODUCTION_ENV, manage


def test_production_settings_pick_object_storage_and_a_replica_from_the_environment():
    env = {
        **PRODUCTION_ENV,
        "ONESTOP_S3_BUCKET": "onestop-hai-phong",
        "ONESTOP_S3_ENDPOINT_URL": "https://s3.example.gov.vn",
        "ONESTOP_S3_PREFIX": "prod/",
        "DATABASE_REPLICA_URL": "postgres://onestop_ro:secret@db-replica.internal:5432/onestop",
    }
    code = (
        "from django.conf import settings as s; from django.core.files.storage import storages; "
        "d = storages['default']; print(type(d).__name__, d.bucket_name, d.location, "
        "d.default_acl, s.DATABASES['replica']['HOST'], s.DATABASE_ROUTERS[0], "
        "s.CACHES['default']['BACKEND'])"
    )
    result = manage("shell", "-v0", "-c", code, env=env)
    assert result.stdout.split() == [
        "PrivateS3Storage",
        "onestop-hai-phong",
        "prod",
        "private",
        "db-replica.internal",
        "dossiers.replica.ReplicaRouter",
        "django.core.cache.backends.db.DatabaseCache",
    ], result.stderr[-3000:]


def test_sessions_cache_throttles_and_lockouts_are_shared_by_every_app_server(settings):
    """Each counts across processes and machines only if none lives in one process's memory:
    they are all in the database (Redis is not installed; docs/scaling.md)."""
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert SessionStore.__module__ == settings.SESSION_ENGINE  # Django's database sessions
    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"
    # DRF's throttles and the password-reset limits count in that cache.
    assert "throttling" in " ".join(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"])


def test_only_the_anchoring_host_signs_anchors(settings, make_dossier):
    settings.ONESTOP_AUDIT_ANCHOR_LAG_SECONDS = 0
    make_dossier(Status.SUBMITTED)
    later = timezone.now() + dt.timedelta(seconds=5)
    settings.ONESTOP_AUDIT_ANCHORING = False  # every other worker host
    assert anchors.anchor_if_due(later) is None
    settings.ONESTOP_AUDIT_ANCHORING = True  # the one host that keeps the anchor file
    assert anchors.anchor_if_due(later).seq == 1


def test_a_host_that_does_not_anchor_needs_no_anchor_file(settings):
    settings.ONESTOP_AUDIT_ANCHOR_FILE = ""
    assert [w.id for w in check_anchor_file()] == ["onestop.W002"]
    settings.ONESTOP_AUDIT_ANCHORING = False
    assert check_anchor_file() == []


@pytest.mark.postgres
def test_anchoring_does_not_wait_for_the_change_feed_or_stall_it(db):
    """The anchor's advisory lock is its own: an action appending to the change feed (which
    holds the feed's lock until it commits) neither makes the sweep skip anchoring nor waits
    for an anchor being summed."""
    from django.db import connection

    from dossiers.integrations.feed import FEED_LOCK

    assert anchors.ANCHOR_LOCK != FEED_LOCK
    db_settings = connection.settings_dict
    with psycopg.connect(
        dbname=db_settings["NAME"],
        host=db_settings["HOST"] or "127.0.0.1",
        port=db_settings["PORT"] or 5432,
        user=db_settings["USER"],
        password=db_settings["PASSWORD"] or None,
    ) as action:  # another process, in the middle of an action's transaction
        action.execute("SELECT pg_advisory_xact_lock(%s)", [FEED_LOCK])
        assert anchors.make_anchor(timezone.now()) is not None
