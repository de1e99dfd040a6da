"""What a PAdES signature costs: signing a result at approval, and the public page's check.

    DEBUG=1 .venv/bin/python bench/signing.py [--repeat 30]

Uses a throw-away SQLite database and signing folder, seeded with a few demo dossiers (whose
seeding makes the demo CA and the agencies' keys). Times, as medians of alternate samples:
- `signing.sign_pdf` of a one-page receipt PDF with the commune's key, B-B (the visible block
  included), what the leader's approval adds per result PDF;
- `signing.verify_pdf` of that signed file, what the verification page does per upload;
- the receipt's own render (`slips.render_content`) in the same process, for scale.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30, help="samples of each median")
    args = parser.parse_args()
    os.environ["ONESTOP_SIGNING_DIR"] = tempfile.mkdtemp()
    from pdf_memory import _setup_django, received_dossiers

    _setup_django()
    from dossiers import slips
    from dossiers.integrations import signing

    dossier = received_dossiers(1)[0]
    agency = dossier.receiving_agency
    key = signing.key_for(agency)
    if key is None:
        raise SystemExit(f"{agency} has no signing key: the demo seeding should have made one")
    content = slips.render_content(dossier, "receipt")
    signed = signing.sign_pdf(content, agency=agency, key=key, signer_name="Bench", reason="bench")
    assert signing.verify_pdf(signed.content).genuine
    render, sign, verify = [], [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        slips.render_content(dossier, "receipt")
        render.append(time.perf_counter() - start)
        start = time.perf_counter()
        signing.sign_pdf(content, agency=agency, key=key, signer_name="Bench", reason="bench")
        sign.append(time.perf_counter() - start)
        start = time.perf_counter()
        signing.verify_pdf(signed.content)
        verify.append(time.perf_counter() - start)
    print(
        f"one-page receipt ({len(content) / 1024:.0f} KiB, signed {len(signed.content) / 1024:.0f}"
        f" KiB), {args.repeat} alternate samples each, medians:\n"
        f"  render {_median_ms(render):.1f} ms\n"
        f"  sign (PAdES B-B, visible block) {_median_ms(sign):.1f} ms\n"
        f"  verify (pyHanko validator, trust roots, offline) {_median_ms(verify):.1f} ms"
    )


if __name__ == "__main__":
    main()
