"""Run every benchmark module in bench/ (make bench)."""
import importlib
import pkgutil
from pathlib import Path

SKIP = {"common", "hello", "__main__"}

for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
    if info.name in SKIP:
        continue
    print(f"\n=== bench.{info.name} ===", flush=True)
    importlib.import_module(f"bench.{info.name}").main()
