"""Run every benchmark module in bench/ (make bench)."""
import importlib
import pkgutil
from pathlib import Path

# helpers, and the apps other benchmarks serve (push_floor: bench.bot's)
SKIP = {"common", "hello", "push_floor", "__main__"}

for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
    if info.name in SKIP:
        continue
    print(f"\n=== bench.{info.name} ===", flush=True)
    importlib.import_module(f"bench.{info.name}").main()
