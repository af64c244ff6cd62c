"""Rewrite a bench folder's ``report.md`` (and optionally ``docs/benchmarks.md``) from its ``results.json``.

``brain3d bench`` writes both already; this re-renders them without measuring again
(e.g. after a change to the report layout).

Usage::

    .venv/bin/brain3d bench --output build/bench/latest --update-docs      # measure + docs (one command)
    .venv/bin/python -m brain3d_app.bench.standalone.report --bench-dir build/bench/latest --docs docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from brain3d_app.bench.report import update_docs, write_report  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench-dir", type=Path, default=Path("build/bench/latest"), help="a brain3d bench folder")
    parser.add_argument("--docs", type=Path, default=None, help="also write this Markdown file (docs/benchmarks.md)")
    args = parser.parse_args(argv)
    print(f"wrote {write_report(args.bench_dir)}")
    if args.docs is not None:
        print(f"wrote {update_docs(args.bench_dir, args.docs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
