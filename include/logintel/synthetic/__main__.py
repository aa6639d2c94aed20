"""``python -m logintel.synthetic -n 100000 -o logs.jsonl.gz [--fmt jsonl] [--days 7] [--seed 42]``"""
from __future__ import annotations

import argparse
import time
from datetime import datetime
from pathlib import Path

from . import FORMATS, generate, write_logs


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m logintel.synthetic", description="Write synthetic logs.")
    ap.add_argument("-n", "--n-logs", type=int, default=100_000)
    ap.add_argument("-o", "--out", type=Path, required=True, help="output path (.gz = gzip)")
    ap.add_argument("--fmt", choices=FORMATS, default="jsonl")
    ap.add_argument("--days", type=float, default=7)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--start", type=datetime.fromisoformat, default=None, help="ISO start (UTC if naive)")
    a = ap.parse_args(argv)
    t = time.perf_counter()
    n = write_logs(generate(a.n_logs, days=a.days, seed=a.seed, start=a.start), a.out, a.fmt)
    print(f"wrote {n} logs to {a.out} in {time.perf_counter() - t:.1f}s")


if __name__ == "__main__":
    main()
