"""Time the supervisors' dashboard (and the indicator export) with Django's test client.

    DEBUG=1 DATABASE_URL=postgres://.../h_rollups_big .venv/bin/python bench/time_indicators.py \
        [--runs 30] [--user supervisor] [--agency ID] [--from 2025-01-01 --to 2025-12-31] \
        [--path /supervision/]

Prints the median and p95 in milliseconds. The user's second factor is passed the way the tests
do (a fresh recovery code), so the data must come with a supervisor account (seed_demo's)."""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onestop.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

# DEBUG=1 spares the production settings (keys, HTTPS); off here so queries are not logged.
settings.DEBUG = False

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from tests.helpers import pass_second_factor  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--user", default="supervisor")
    parser.add_argument("--agency", default="")
    parser.add_argument("--from", dest="date_from", default="2025-01-01")
    parser.add_argument("--to", dest="date_to", default="2025-12-31")
    parser.add_argument("--path", default="/supervision/")
    parser.add_argument("--extra", default="", help="more query parameters, a=b&c=d")
    args = parser.parse_args()
    setup_test_environment()
    client = Client()
    user = get_user_model().objects.get(username=args.user)
    client.force_login(user)
    pass_second_factor(client, user)
    params = {"date_from": args.date_from, "date_to": args.date_to}
    if args.agency:
        params["agency"] = args.agency
    for pair in filter(None, args.extra.split("&")):
        key, value = pair.split("=", 1)
        params[key] = value
    times = []
    for _ in range(args.runs + 1):
        start = time.perf_counter()
        response = client.get(args.path, params)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    times = sorted(times[1:])  # the first run warms caches and connections
    p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
    print(
        f"{args.path} {params}: median {statistics.median(times):.0f} ms, p95 {p95:.0f} ms, "
        f"min {times[0]:.0f} ms over {len(times)} runs"
    )


if __name__ == "__main__":
    main()
