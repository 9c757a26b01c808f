"""``make bench``: run every benchmark present, one after the other."""

from __future__ import annotations

import importlib
import sys

# scale_bench builds scales 1 and 5 (long); SCALE_BENCH_SCALES=0.02,0.1 for a smaller 1:5 pair.
BENCHMARKS = ("bench.platform_bench", "bench.matching_bench", "bench.audit_bench", "bench.decision_bench",
              "bench.scale_bench")


def main() -> int:
    wanted = sys.argv[1:] or BENCHMARKS
    for name in wanted:
        try:
            module = importlib.import_module(name if name.startswith("bench.") else f"bench.{name}")
        except ModuleNotFoundError:
            continue
        print(f"\n=== {name} ===", flush=True)
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
