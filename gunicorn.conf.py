"""gunicorn's settings for onestop (`make serve`, or `gunicorn onestop.wsgi -c gunicorn.conf.py`).

Read from the environment, like the Django settings (docs/deployment.md, "make serve").
"""

import ipaddress
import multiprocessing
import os
import sys
from pathlib import Path

# gunicorn loads this file by path: the project's own modules (onestop.logs) are importable
# only with its directory on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gunicorn import glogging

from onestop.logs import JsonFormatter  # after the path is set

wsgi_app = "onestop.wsgi:application"
bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"]

# Processes: WEB_CONCURRENCY (the variable gunicorn itself knows), else the classic 2×cores+1.
workers = int(os.environ.get("WEB_CONCURRENCY", "") or multiprocessing.cpu_count() * 2 + 1)
# Threads per process: requests waiting on the database or on a slow client overlap. Each
# process's database pool holds as many connections (settings, ONESTOP_DB_POOL_MAX).
threads = int(os.environ.get("WEB_THREADS", "") or 4)
worker_class = "gthread"

# A request still running after this many seconds has its process killed and restarted (a
# stuck request must not hold a process forever; 60 MB uploads over a slow line fit).
timeout = int(os.environ.get("WEB_TIMEOUT", "") or 120)
# On SIGTERM (a deploy, Ctrl-C under `make serve`) requests under way get this long to finish.
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT", "") or 30)
# Behind a proxy that reuses connections.
keepalive = 5
# Each process is replaced after about this many requests (the jitter keeps them from all
# restarting at once), which bounds what a slow leak can grow to.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "") or 1000)
max_requests_jitter = max(1, max_requests // 10) if max_requests else 0

# X-Forwarded-Proto and friends only from the proxies the application trusts (onestop/net.py,
# ONESTOP_TRUSTED_PROXIES; none by default), not gunicorn's default of any local process.
forwarded_allow_ips = ",".join(
    str(ipaddress.ip_network(item.strip(), strict=False))
    for item in os.environ.get("ONESTOP_TRUSTED_PROXIES", "").split(",")
    if item.strip()
)

# No access log: the application writes one line per request itself, with the route, the user
# and the request id (onestop/logs.py). gunicorn's own messages go to stderr, as JSON lines
# too unless LOG_FORMAT=text.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
proc_name = "onestop"
# gunicorn's control socket (gunicornc) would sit at one path per user, shared by every
# instance on the machine; nothing here uses it.
control_socket_disable = True
_debug = os.environ.get("DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}
if (os.environ.get("LOG_FORMAT", "") or ("text" if _debug else "json")) == "json":

    class JsonLogger(glogging.Logger):
        """gunicorn's logger with its error log's lines as JSON (the access log stays off: a
        logconfig_dict would switch it on)."""

        def setup(self, cfg):
            super().setup(cfg)
            for handler in self.error_log.handlers:
                handler.setFormatter(JsonFormatter())

    logger_class = JsonLogger

# The heartbeat files in memory rather than on a possibly slow disk.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"
