"""Run the benchmarks in bench/ (make bench): all of them, or those named
(`python -m bench scale --quick`: a name, then that benchmark's own options)."""
import importlib
import pkgutil
import sys
from pathlib import Path

# helpers, and the apps other benchmarks serve (push_floor: bench.bot's)
SKIP = {"common", "hello", "push_floor", "__main__"}

names = sorted(info.name for info in pkgutil.iter_modules([str(Path(__file__).parent)])
               if info.name not in SKIP)
if len(sys.argv) > 1 and sys.argv[1] in names:
    # one benchmark, with the rest of the command line as its options
    module = importlib.import_module(f"bench.{sys.argv[1]}")
    # as `python -m bench.NAME options` would see it (argparse reads sys.argv[1:])
    sys.argv = [f"bench.{sys.argv[1]}", *sys.argv[2:]]
    module.main()
else:
    for name in names:
        print(f"\n=== bench.{name} ===", flush=True)
        importlib.import_module(f"bench.{name}").main()
