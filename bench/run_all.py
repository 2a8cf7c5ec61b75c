"""`make bench`: run every bench/*_bench.py in turn and print their figures.

Each benchmark runs in its own process (they configure Django differently).
Options for one benchmark go through the environment, e.g.
``BENCH_ARGS_SEND="--subscribers 100000" make bench``; ``BENCH_ONLY=send``
runs just that one.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    only = {name.strip() for name in os.environ.get("BENCH_ONLY", "").split(",") if name.strip()}
    failures = []
    for script in sorted(HERE.glob("*_bench.py")):
        name = script.stem.removesuffix("_bench")
        if only and name not in only:
            continue
        extra = shlex.split(os.environ.get(f"BENCH_ARGS_{name.upper()}", ""))
        print(f"\n=== {script.name} {' '.join(extra)}".rstrip(), flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script), *extra], cwd=HERE.parent)
        print(
            f"=== {script.name}: {'ok' if code == 0 else f'FAILED ({code})'} in {time.perf_counter() - started:.0f} s"
        )
        if code:
            failures.append(script.name)
    if failures:
        print("failed: " + ", ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
