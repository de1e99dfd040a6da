"""Production serving (docs/deployment.md): /healthz, request ids and the JSON request log, the
500 page's error reference, the database connection pool, and `make serve` itself: gunicorn
with DEBUG=0, collected hashed and compressed static files, a worker, all stopped on Ctrl-C."""

import datetime as dt
import gzip
import http.client
import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import brotli
import pytest
from django.db import connection, connections
from django.db.utils import ConnectionHandler, load_backend
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from dossiers import tasks
from onestop.logs import RequestIdFilter, request_id_var

from .helpers import client_of

ROOT = Path(__file__).resolve().parent.parent
HEX_ID = re.compile(r"[0-9a-f]{32}")
# The test-only keys of pyproject.toml's [tool.pytest.ini_options] env.
TEST_SECRET_KEY = "test-only-secret-key-not-for-production-0123456789abcdef"
TEST_SIGNING_KEY = "b25lc3RvcC10ZXN0LWF1ZGl0LWtleS0wMTIzNDU2Nzg="


@pytest.fixture
def log_lines():
    """What the configured console handler (settings.LOGGING: its JSON formatter and request-id
    filter) writes, as parsed lines: every line must be one JSON object."""
    handler = next(
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, RequestIdFilter) for f in handler.filters)
    )
    buffer = io.StringIO()
    previous = handler.setStream(buffer)

    def lines(logger=None):
        parsed = [json.loads(line) for line in buffer.getvalue().splitlines()]
        return [line for line in parsed if logger is None or line["logger"] == logger]

    yield lines
    handler.setStream(previous)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- /healthz -----------------------------------------------------------------------------------


def test_healthz_reports_the_backlog_cheaply(client, db, settings, django_assert_max_num_queries):
    settings.SECURE_SSL_REDIRECT = True
    now = timezone.now()
    due = tasks.sweep.enqueue()  # due now, not taken: the backlog
    planned = tasks.sweep.using(run_after=now + dt.timedelta(seconds=60)).enqueue()
    DBTaskResult.objects.filter(pk=due.id).update(enqueued_at=now - dt.timedelta(seconds=90))
    # The sweep that ran 30 s ago planned the next one then.
    DBTaskResult.objects.filter(pk=planned.id).update(enqueued_at=now - dt.timedelta(seconds=30))

    with django_assert_max_num_queries(19):
        response = client.get("/healthz")  # plain HTTP: no redirect to HTTPS for the prober
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "max-age=0" in response["Cache-Control"]
    assert "Set-Cookie" not in response  # no session
    worker = response.json()["worker"]
    assert response.json()["database"] == "ok"
    assert worker["backlog"] == 1 and 90 <= worker["oldest_due_seconds"] < 120
    assert 30 <= worker["last_sweep_seconds"] < 60
    assert worker["running"] == 0
    assert HEX_ID.fullmatch(response["X-Request-ID"])
    # Every other page is redirected to HTTPS.
    assert client.get("/").status_code == 301


@pytest.mark.parametrize("pooled", [False, True], ids=["connection", "pool"])
def test_healthz_is_503_when_the_database_does_not_answer(client, db, pooled, log_lines):
    """A real connection attempt to a loopback port nothing listens on: refused at once; with a
    pool, the request waits for the pool's timeout, not forever."""
    port = free_port()
    options = {"connect_timeout": 2}
    if pooled:
        options["pool"] = {"min_size": 1, "max_size": 1, "timeout": 1.5}
    # Django's defaults filled in, as for any configured database.
    database = ConnectionHandler(
        {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "onestop",
                "USER": "onestop",
                "HOST": "127.0.0.1",
                "PORT": str(port),
                "OPTIONS": options,
            }
        }
    ).settings["default"]
    unreachable = load_backend(database["ENGINE"]).DatabaseWrapper(database, "unreachable")
    default = connections["default"]
    connections["default"] = unreachable  # this thread's default database, for one request
    started = time.monotonic()
    try:
        response = client.get("/healthz")
    finally:
        connections["default"] = default
        if pooled:
            unreachable.close_pool()
    assert time.monotonic() - started < 10
    assert response.status_code == 503
    assert response.json() == {
        "database": "unavailable",
        "reason": "PoolTimeout" if pooled else "OperationalError",
    }
    # The details (host, port) are in the log, under the request's id, not in the answer.
    assert str(port) not in response.content.decode()
    (warning,) = log_lines("onestop.views")
    assert warning["level"] == "WARNING"
    assert warning["request_id"] == response["X-Request-ID"]
    assert "OperationalError" in warning["exception"]
    (line,) = log_lines("onestop.request")
    assert line["route"] == "healthz" and line["status"] == 503


# --- request ids and the request log ------------------------------------------------------------


def test_one_json_line_per_request_with_the_route_not_the_path(client, citizen, log_lines):
    client.force_login(citizen)
    response = client.get("/office/dossiers/987654321/?id_number=031090001234")
    request_id = response["X-Request-ID"]
    assert HEX_ID.fullmatch(request_id)
    (line,) = log_lines("onestop.request")
    assert set(line) == {
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "method",
        "route",
        "status",
        "duration_ms",
        "user_id",
    }
    assert line["request_id"] == request_id
    assert line["method"] == "GET"
    assert line["route"] == "office/dossiers/<int:pk>/"
    assert line["status"] == response.status_code
    assert line["user_id"] == citizen.pk
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    # Never the raw path: neither its id nor its query string.
    assert "987654321" not in line["message"] + line["route"]
    assert "031090001234" not in json.dumps(line)
    # Outside a request, records carry no id.
    assert request_id_var.get() is None


def test_the_request_log_knows_api_token_users_and_unmatched_paths(citizen, client, log_lines):
    api = client_of(citizen)
    assert api.get("/api/v1/dossiers/").status_code == 200
    assert client.get("/no/such/page/").status_code == 404
    api_line, not_found = log_lines("onestop.request")
    assert api_line["user_id"] == citizen.pk  # DRF's token authentication, not a session
    assert api_line["route"].startswith("api/v1/dossiers")
    assert not_found["route"] is None and not_found["user_id"] is None


def test_incoming_request_id_is_believed_from_a_trusted_proxy_only(db, settings, log_lines):
    settings.ONESTOP_TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = Client(REMOTE_ADDR="10.1.2.3")
    answered = [
        # From the proxy, for a client behind it: kept.
        proxy.get("/healthz", HTTP_X_REQUEST_ID="lb-4f2a.77:9", HTTP_X_FORWARDED_FOR="203.0.113.9"),
        # A client claiming to be the proxy in X-Forwarded-For: a new id.
        Client(REMOTE_ADDR="203.0.113.9").get(
            "/healthz", HTTP_X_REQUEST_ID="chosen-by-client", HTTP_X_FORWARDED_FOR="10.1.2.3"
        ),
        Client().get("/healthz", HTTP_X_REQUEST_ID="chosen-by-client"),  # 127.0.0.1: no proxy
        # From the proxy, but not a sane token: a new id.
        proxy.get("/healthz", HTTP_X_REQUEST_ID="two words"),
        proxy.get("/healthz", HTTP_X_REQUEST_ID="<script>"),
        proxy.get("/healthz", HTTP_X_REQUEST_ID="x" * 129),
    ]
    ids = [response["X-Request-ID"] for response in answered]
    assert ids[0] == "lb-4f2a.77:9"
    assert all(HEX_ID.fullmatch(request_id) for request_id in ids[1:])
    assert len(set(ids)) == len(ids)
    assert [line["request_id"] for line in log_lines("onestop.request")] == ids


@pytest.mark.urls("tests.serving_urls")
def test_a_server_error_shows_and_logs_the_request_id(db, log_lines):
    response = Client(raise_request_exception=False).get("/test-only/fails/42/")
    assert response.status_code == 500
    request_id = response["X-Request-ID"]
    page = response.content.decode()
    assert f'<code class="request-id">{request_id}</code>' in page
    assert "Mã lỗi" in page
    assert "a test view that fails" not in page  # the error's text stays in the log
    (error,) = [line for line in log_lines("django.request") if line["level"] == "ERROR"]
    assert error["request_id"] == request_id
    assert error["status"] == 500
    assert "RuntimeError: a test view that fails (dossier 42)" in error["exception"]
    (line,) = log_lines("onestop.request")
    assert line["route"] == "test-only/fails/<int:pk>/" and line["status"] == 500
    assert line["request_id"] == request_id


def test_errors_django_logs_after_the_middleware_carry_the_request_id(
    client, db, settings, log_lines
):
    """A 413 answered by a middleware is logged by Django once every middleware has returned:
    still under the request's id."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    response = client.generic("POST", "/healthz", b"x" * 100, content_type="application/json")
    assert response.status_code == 413
    (warning,) = log_lines("django.request")
    assert warning["message"].startswith("Request Entity Too Large")
    assert warning["request_id"] == response["X-Request-ID"]
    assert request_id_var.get() is None  # cleared when the request finished


# --- the connection pool ------------------------------------------------------------------------


def settings_with(**env) -> dict:
    """The database and log settings a process with this environment gets."""
    code = (
        "import json; from onestop import settings as s; d = s.DATABASES['default']; "
        "print(json.dumps({'options': d.get('OPTIONS', {}), 'conn_max_age': d['CONN_MAX_AGE'], "
        "'log_format': s.LOG_FORMAT}))"
    )
    base = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "SECRET_KEY": TEST_SECRET_KEY, "ONESTOP_AUDIT_SIGNING_KEY": TEST_SIGNING_KEY}
        | env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_the_pool_is_on_for_production_postgresql_only():
    postgres = "postgres://onestop:secret@db.internal:5432/onestop"
    production = settings_with(DEBUG="0", DATABASE_URL=postgres)
    assert production["options"]["pool"] == {
        "min_size": 1,
        "max_size": 4,
        "timeout": 10.0,
        "max_idle": 300.0,
        "max_lifetime": 3600.0,
    }
    assert production["options"]["connect_timeout"] == 5
    assert production["conn_max_age"] == 0  # Django refuses persistent connections with a pool
    assert production["log_format"] == "json"
    # As many connections per process as gunicorn's threads.
    assert (
        settings_with(DEBUG="0", DATABASE_URL=postgres, WEB_THREADS="8")["options"]["pool"][
            "max_size"
        ]
        == 8
    )
    switched_off = settings_with(DEBUG="0", DATABASE_URL=postgres, ONESTOP_DB_POOL="0")
    assert "pool" not in switched_off["options"] and switched_off["conn_max_age"] == 60
    development = settings_with(DEBUG="1", DATABASE_URL=postgres)
    assert "pool" not in development["options"] and development["log_format"] == "text"
    sqlite = settings_with(DEBUG="0", DATABASE_URL="sqlite:////tmp/x.sqlite3", ONESTOP_DB_POOL="1")
    assert "pool" not in sqlite["options"]


@pytest.mark.postgres
def test_a_request_on_postgresql_goes_through_the_pool(db):
    """With ONESTOP_DB_POOL=1, a request (Django's whole handler, in another process on this
    test database) borrows its connection from psycopg's pool and gives it back."""
    database = connection.settings_dict
    url = (
        f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@"
        f"{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
    )
    code = """
import json
from django.db import connection
from django.test import Client
response = Client().get("/healthz")
pooled = connection.pool is not None and connection.connection._pool is connection.pool
connection.close()  # what the end of a request does: the connection goes back to the pool
stats = connection.pool.get_stats()
print(json.dumps({"status": response.status_code, "body": response.json(), "pooled": pooled,
                  "available": stats["pool_available"], "borrowed": stats["requests_num"]}))
"""
    env = {**os.environ, "DEBUG": "0", "DATABASE_URL": url, "ONESTOP_DB_POOL": "1"}
    env.pop("CONN_MAX_AGE", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v0", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.splitlines()[-1])
    assert answer["status"] == 200 and answer["body"]["database"] == "ok"
    assert answer["pooled"] is True
    assert answer["borrowed"] >= 1 and answer["available"] >= 1


# --- make serve ---------------------------------------------------------------------------------


def serve_env(tmp_path, **extra) -> dict:
    base = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    return {**base, "ONESTOP_ENV_FILE": str(tmp_path / "absent.env"), **extra}


def test_make_serve_refuses_naming_what_is_missing(tmp_path):
    env_file = tmp_path / "production.env"
    env_file.write_text("# only the secret key\nSECRET_KEY='from the file'\n")
    result = subprocess.run(
        [sys.executable, "-m", "onestop.serve"],
        cwd=ROOT,
        env=serve_env(tmp_path, ONESTOP_ENV_FILE=str(env_file), DEBUG="1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "nothing started" in result.stderr
    assert "DEBUG is on" in result.stderr
    assert "ALLOWED_HOSTS" in result.stderr
    assert "ONESTOP_PUBLIC_URL" in result.stderr
    assert "ONESTOP_AUDIT_SIGNING_KEY_FILE" in result.stderr
    assert "SECRET_KEY:" not in result.stderr  # the file gave it
    assert not (tmp_path / "db.sqlite3").exists()

    missing_file = subprocess.run(
        [sys.executable, "-m", "onestop.serve"],
        cwd=ROOT,
        env=serve_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing_file.returncode == 2 and "absent.env: no such file" in missing_file.stderr


def get(port, path, **headers):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1", **headers})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def gone(pid) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_make_serve_runs_gunicorn_and_a_worker_in_production(tmp_path):
    """`python -m onestop.serve` (what `make serve` runs) with DEBUG=0, settings partly from an
    env file, a new SQLite database: it migrates, collects the static files, starts gunicorn
    and one worker; /healthz answers, a hashed static file is served compressed with a
    far-future expiry; Ctrl-C stops everything."""
    port = free_port()
    env_file = tmp_path / "production.env"
    env_file.write_text(
        "# settings make serve reads from its env file\n"
        f'export SECRET_KEY="{TEST_SECRET_KEY}"\n'
        f"ONESTOP_AUDIT_SIGNING_KEY={TEST_SIGNING_KEY}\n"
        "ALLOWED_HOSTS=overridden.example\n"  # the environment's value wins
    )
    env = serve_env(
        tmp_path,
        ONESTOP_ENV_FILE=str(env_file),
        ALLOWED_HOSTS="127.0.0.1",
        ONESTOP_PUBLIC_URL=f"http://127.0.0.1:{port}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        MEDIA_ROOT=str(tmp_path / "media"),
        ONESTOP_AUDIT_ANCHOR_FILE=str(tmp_path / "anchors.jsonl"),
        ONESTOP_TRUSTED_PROXIES="127.0.0.1/32",  # the test plays the TLS proxy
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY="1",
        WEB_THREADS="2",
        WORKERS="1",
    )
    output = tmp_path / "serve.log"
    with output.open("wb") as sink:
        serve = subprocess.Popen(
            [sys.executable, "-m", "onestop.serve"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: cleaned up below whatever happens
        )
    try:
        health = None
        deadline = time.monotonic() + 480  # a migration from nothing on a busy machine
        while time.monotonic() < deadline and serve.poll() is None:
            try:
                status, headers, body = get(port, "/healthz", **{"X-Request-ID": "lb-probe-1"})
            except OSError:
                time.sleep(0.5)
                continue
            health = json.loads(body)
            if health["worker"]["last_sweep_seconds"] is not None:
                break  # the worker has started too
            time.sleep(0.5)
        log = output.read_text(errors="replace")
        assert health is not None, log[-3000:]
        # Plain HTTP, no proxy header: /healthz answers all the same.
        assert status == 200, log[-3000:]
        assert health["database"] == "ok"
        assert health["worker"]["last_sweep_seconds"] is not None, log[-3000:]
        assert headers["x-request-id"] == "lb-probe-1"  # from a trusted proxy: kept

        manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
        hashed = manifest["paths"]["onestop.css"]
        assert hashed != "onestop.css"
        original = (ROOT / "static" / "onestop.css").read_bytes()
        https = {"X-Forwarded-Proto": "https"}
        # Without the proxy's word that the client used HTTPS, production redirects.
        assert get(port, f"/static/{hashed}")[0] == 301
        status, headers, body = get(port, f"/static/{hashed}", **https)
        assert status == 200 and body == original
        assert "max-age=315360000" in headers["cache-control"]
        assert "immutable" in headers["cache-control"]
        assert "accept-encoding" in headers["vary"].lower()
        status, headers, body = get(
            port, f"/static/{hashed}", **https, **{"Accept-Encoding": "gzip"}
        )
        assert status == 200 and headers["content-encoding"] == "gzip"
        assert gzip.decompress(body) == original
        status, headers, body = get(port, f"/static/{hashed}", **https, **{"Accept-Encoding": "br"})
        assert status == 200 and headers["content-encoding"] == "br"
        assert brotli.decompress(body) == original
        # The unhashed name is served too, but briefly cached (it changes with each release).
        status, headers, _body = get(port, "/static/onestop.css", **https)
        assert status == 200 and "max-age=315360000" not in headers["cache-control"]
    finally:
        if serve.poll() is None:
            serve.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            serve.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
    log = output.read_text(errors="replace")
    assert serve.returncode == 0, log[-3000:]
    pids = [int(pid) for pid in re.findall(r"make serve: (?:gunicorn|worker) pid (\d+)", log)]
    assert len(pids) == 2, log[-3000:]
    assert all(gone(pid) for pid in pids)
    with pytest.raises(OSError):
        get(port, "/healthz")

    # gunicorn's messages and the application's, one JSON object per line, request ids included.
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(record["logger"] == "gunicorn.error" for record in records)
    requests = [record for record in records if record["logger"] == "onestop.request"]
    probe = next(record for record in requests if record["request_id"] == "lb-probe-1")
    assert probe["route"] == "healthz" and probe["status"] == 200
    static = [record for record in requests if record["route"] == "static/<path>"]
    assert {record["status"] for record in static} == {200, 301}
    assert not any("access" in record["logger"] for record in records)  # no access log
