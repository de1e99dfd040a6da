"""The receipt PDF: its render time against floor C, and a worker's memory over 1,000 renders.

    DEBUG=1 .venv/bin/python bench/pdf_memory.py [--renders 1000] [--repeat 30]

Uses the database of DATABASE_URL (a throw-away SQLite file by default), migrated and seeded with
a few demo dossiers. Renders receipts (Giấy tiếp nhận hồ sơ và hẹn trả kết quả) through
`slips.render_content`, what the worker's render_slip job renders before storing, cycling
through the received dossiers, and prints the process's RSS along the way.

Floor C is WeasyPrint itself: a one-line page rendered to PDF with WeasyPrint's defaults in the
same process (its own font configuration, the system's default font, subset on every render).
Render time and floor are sampled alternately so that a busy machine slows both alike.

bench/run.py may import `floor_c`, `receipt_render_seconds`, `rss_kib` and `memory_series`
(Django set up and the database seeded by the caller for the last two).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOOR_HTML = "<p>Giấy tiếp nhận hồ sơ</p>"


def rss_kib() -> int:
    """This process's resident set size in KiB (VmRSS)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def _floor_once(write: bool = True) -> float:
    from weasyprint import HTML

    start = time.perf_counter()
    document = HTML(string=FLOOR_HTML).render()
    if write:
        document.write_pdf()
    return time.perf_counter() - start


def floor_c(repeat: int = 30, write: bool = True) -> float:
    """Median seconds of WeasyPrint rendering a one-line page to PDF with its defaults, in this
    process (after one warm-up render). `write=False`: laid out only, no PDF written (no font
    subsetting: without HarfBuzz-Subset that is most of the PDF floor)."""
    _floor_once(write)
    return statistics.median(_floor_once(write) for _i in range(repeat))


def received_dossiers(limit: int = 20) -> list:
    """Dossiers that have a receipt to render (a reception event), with what the job loads."""
    from dossiers.models import Dossier, Slip
    from dossiers.slips import SOURCE_EVENTS

    ids = (
        Dossier.objects.filter(events__event_type__in=SOURCE_EVENTS[Slip.Kind.RECEIPT])
        .values_list("pk", flat=True)
        .distinct()
        .order_by("pk")[:limit]
    )
    return list(
        Dossier.objects.select_related("procedure", "receiving_agency", "competent_agency").filter(
            pk__in=list(ids)
        )
    )


def _receipt_once(dossier) -> float:
    from dossiers.models import Slip
    from dossiers.slips import render_content

    start = time.perf_counter()
    render_content(dossier, Slip.Kind.RECEIPT)
    return time.perf_counter() - start


def receipt_render_seconds(dossier=None, repeat: int = 30) -> float:
    """Median seconds to render `dossier`'s receipt (default: the first received dossier) as the
    worker does, context queries included, after one warm-up render."""
    dossier = dossier or received_dossiers(1)[0]
    _receipt_once(dossier)
    return statistics.median(_receipt_once(dossier) for _i in range(repeat))


def receipt_against_floor(dossier=None, repeat: int = 30) -> tuple[float, float]:
    """(receipt median, floor C median) in seconds, sampled alternately."""
    dossier = dossier or received_dossiers(1)[0]
    _receipt_once(dossier)
    _floor_once()
    receipts, floors = [], []
    for _i in range(repeat):
        receipts.append(_receipt_once(dossier))
        floors.append(_floor_once())
    return statistics.median(receipts), statistics.median(floors)


def memory_series(
    dossiers: list, renders: int = 1000, marks=(10, 100, 250, 500, 1000), report=None
) -> tuple[list[tuple[int, int]], list[float]]:
    """Render `renders` receipts cycling through `dossiers`; ([(renders done, RSS KiB) at each
    mark], every render's seconds). `report(renders done, RSS KiB)` is called at each mark."""
    from django.db import reset_queries

    series, samples = [(0, rss_kib())], []
    for number in range(1, renders + 1):
        samples.append(_receipt_once(dossiers[number % len(dossiers)]))
        # With DEBUG on, Django keeps the last 9,000 queries; the worker runs with it off.
        reset_queries()
        if number in marks:
            series.append((number, rss_kib()))
            if report:
                report(*series[-1])
    return series, samples


def _setup_django() -> None:
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onestop.settings")
    os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp())
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from dossiers.demo.seeding import seed_demo

    seed_demo(dossiers=12, log=lambda *_args: None)
    # Floor C subsets its font with fontTools on every render, and says so each time.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=30, help="samples of each median")
    args = parser.parse_args()
    start_rss = rss_kib()
    _setup_django()
    import weasyprint

    from dossiers import pdf

    dossiers = received_dossiers()
    before_pdf = rss_kib()
    print(
        f"weasyprint {weasyprint.__version__} (fonts subset by "
        f"{'HarfBuzz' if pdf.renderer().subset_is_cheap else 'fontTools'}); "
        f"{len(dossiers)} received dossiers; "
        f"RSS before any PDF {before_pdf / 1024:.1f} MiB (interpreter {start_rss / 1024:.1f} MiB)"
    )
    receipt, floor = receipt_against_floor(dossiers[0], args.repeat)
    print(
        f"receipt render: median {receipt * 1000:.1f} ms; floor C (one-line page, WeasyPrint "
        f"defaults): median {floor * 1000:.1f} ms; ratio {receipt / floor:.2f} "
        f"({args.repeat} alternate samples each)",
        flush=True,
    )
    marks = (*(m for m in (10, 100, 250, 500, 1000) if m < args.renders), args.renders)
    series, samples = memory_series(
        dossiers,
        args.renders,
        marks,
        report=lambda n, kib: print(f"  RSS after {n} renders: {kib / 1024:.1f} MiB", flush=True),
    )
    print(
        "RSS after renders: "
        + ", ".join(f"{number}: {kib / 1024:.1f} MiB" for number, kib in series)
    )
    first, last = series[1][1], series[-1][1]
    print(
        f"{args.renders} renders: median {statistics.median(samples) * 1000:.1f} ms, "
        f"max {max(samples) * 1000:.1f} ms; RSS from render {series[1][0]} to {series[-1][0]}: "
        f"{(last - first) / 1024:+.1f} MiB"
    )
    print(f"floor C again: median {floor_c(args.repeat) * 1000:.1f} ms")
    layout_only = floor_c(args.repeat, write=False)
    print(
        f"floor C laid out only (no PDF written): median {layout_only * 1000:.1f} ms; "
        f"the {args.renders} renders' median is {statistics.median(samples) / layout_only:.1f}× it"
    )


if __name__ == "__main__":
    main()
