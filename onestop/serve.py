"""`make serve` (`python -m onestop.serve`): onestop as in production, on this machine.

With DEBUG off: refuses to start, naming each missing setting, before anything runs; applies
the migrations; collects the static files (hashed and compressed, served by WhiteNoise); then
starts gunicorn (gunicorn.conf.py) and WORKERS background workers (`manage.py run_worker`).
Ctrl-C (or SIGTERM) stops them all; if one of them stops by itself, the others are stopped too
and the exit status says so (a supervisor such as systemd restarts the lot).

Settings come from the environment; variables not set there are read from an env file:
ONESTOP_ENV_FILE, else `.env` in the project directory if there is one (docs/deployment.md).
This module uses the standard library only: it runs before any Django setting is read.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess  # nosec B404: starts our own programs, never a shell
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
TRUE = {"1", "true", "yes", "on"}


class Refused(Exception):
    """Production mode cannot start: the message says why."""


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments skipped, an `export ` prefix allowed, a
    value in single or double quotes taken as it is inside them (no expansion)."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "").isalnum() or key[0].isdigit():
            raise Refused(f"{path}:{number}: expected KEY=VALUE, found {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def environment(base: dict[str, str]) -> tuple[dict[str, str], Path | None]:
    """The environment the processes get: `base` (the real environment), completed by the env
    file. Returns it and the file read (None if none)."""
    named = base.get("ONESTOP_ENV_FILE", "")
    if named:
        path = Path(named)
        if not path.is_absolute():
            path = ROOT / path
        if not path.is_file():
            raise Refused(f"ONESTOP_ENV_FILE={named}: no such file.")
    else:
        path = ROOT / ".env"
        if not path.is_file():
            return dict(base), None
    env = {**read_env_file(path), **base}  # what is really set wins over the file
    return env, path


def problems(env: dict[str, str]) -> list[str]:
    """What production mode lacks, one line each (empty: it can start)."""
    found = []
    if env.get("DEBUG", "").strip().lower() in TRUE:
        found.append("DEBUG is on: make serve runs with DEBUG=0 (use make run to develop).")
    if not env.get("SECRET_KEY"):
        found.append("SECRET_KEY: a long random string, e.g. from `openssl rand -base64 48`.")
    if not env.get("ALLOWED_HOSTS"):
        found.append("ALLOWED_HOSTS: the site's host names, comma-separated.")
    public_url = urlsplit(env.get("ONESTOP_PUBLIC_URL", ""))
    if public_url.scheme not in ("http", "https") or not public_url.netloc:
        found.append(
            "ONESTOP_PUBLIC_URL: the address citizens open, e.g. https://motcua.example.gov.vn "
            "(links and QR codes on slips and in e-mails)."
        )
    key, key_file = env.get("ONESTOP_AUDIT_SIGNING_KEY"), env.get("ONESTOP_AUDIT_SIGNING_KEY_FILE")
    if not key and not key_file:
        found.append(
            "ONESTOP_AUDIT_SIGNING_KEY_FILE (or ONESTOP_AUDIT_SIGNING_KEY): the audit signing "
            "key, made with "
            "`manage.py audit_keys generate FILE` (docs/integrity.md)."
        )
    elif key_file and not key and not os.access(key_file, os.R_OK):
        found.append(f"ONESTOP_AUDIT_SIGNING_KEY_FILE={key_file}: not a readable file.")
    try:
        if int(env.get("WORKERS", "1")) < 0:
            raise ValueError
    except ValueError:
        found.append("WORKERS: a number of background workers (0 or more).")
    return found


def warnings(env: dict[str, str]) -> list[str]:
    found = []
    database = env.get("DATABASE_URL", "")
    if not database or database.startswith("sqlite"):
        found.append(
            "DATABASE_URL is not PostgreSQL: SQLite is for trying this out (no append-only "
            "triggers, no connection pool, one worker only)."
        )
    if not env.get("ONESTOP_AUDIT_ANCHOR_FILE"):
        found.append("ONESTOP_AUDIT_ANCHOR_FILE is not set: anchors stay in the database only.")
    return found


def say(message: str) -> None:
    print(f"make serve: {message}", file=sys.stderr, flush=True)


def run_step(args: list[str], env: dict[str, str]) -> None:
    say("$ " + shlex.join(args))
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, check=False)  # nosec B603
    if result.returncode != 0:
        raise Refused(f"{shlex.join(args)} failed (exit status {result.returncode}).")


def stop(processes: list[subprocess.Popen], grace: float) -> None:
    """SIGTERM to each (gunicorn finishes its requests, a worker its job), SIGKILL after
    `grace` seconds to what is left."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"pid {process.pid} did not stop in {grace:.0f} s: killed")
            process.kill()
            process.wait()


def main() -> int:
    try:
        env, env_file = environment(dict(os.environ))
        env["DEBUG"] = env.get("DEBUG") or "0"
        if env_file:
            say(f"settings not in the environment are read from {env_file}")
        missing = problems(env)
        if missing:
            raise Refused(
                "production settings missing, nothing started:\n  - "
                + "\n  - ".join(missing)
                + "\nSet them in the environment or in the env file (ONESTOP_ENV_FILE, "
                "default .env); see docs/deployment.md."
            )
        for warning in warnings(env):
            say("warning: " + warning)
        workers = int(env.get("WORKERS", "1"))
        # Migrations as the owner role when it is given (docs/deployment.md, two roles).
        migrate_env = dict(env)
        if env.get("MIGRATION_DATABASE_URL"):
            migrate_env["DATABASE_URL"] = env["MIGRATION_DATABASE_URL"]
        run_step(["manage.py", "migrate", "--noinput"], migrate_env)
        run_step(["manage.py", "collectstatic", "--noinput", "-v", "0"], env)
    except Refused as refusal:
        say(str(refusal))
        return 2
    except KeyboardInterrupt:
        return 130

    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    config = str(ROOT / "gunicorn.conf.py")
    gunicorn = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", config], cwd=ROOT, env=env)  # nosec B603
    processes = [gunicorn]
    address = f"{env.get('HOST', '127.0.0.1')}:{env.get('PORT', '8000')}"
    say(f"gunicorn pid {gunicorn.pid} on {address}")
    for _ in range(workers):
        worker = subprocess.Popen([sys.executable, "manage.py", "run_worker"], cwd=ROOT, env=env)  # nosec B603
        processes.append(worker)
        say(f"worker pid {worker.pid}")

    status = 0
    while not stopping:
        ended = [process for process in processes if process.poll() is not None]
        if ended:
            status = ended[0].returncode or 1
            say(f"pid {ended[0].pid} stopped (exit status {ended[0].returncode}): stopping all")
            break
        time.sleep(0.2)
    grace = float(env.get("WEB_GRACEFUL_TIMEOUT", "") or 30) + 5
    stop(processes, grace)
    say("stopped")
    return status


if __name__ == "__main__":
    sys.exit(main())
