"""Ledger import: a 20,000-room CSV through `flask import-ledger` (target < 10 s), then a
re-import of the same file with 1% of rooms changed. SQLite and PostgreSQL."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, prepare_database
from tests.servers import ServiceMissing, create_pg_database, throwaway_postgres

ROOMS = 20_000


def ledger_csv(rooms: int, changed_every: int = 0) -> str:
    lines = ["building,unit,number,area_m2,owner_ref,owner_name,phone,kind"]
    i = 0
    building = 0
    while i < rooms:
        building += 1
        for unit in range(1, 5):
            for floor in range(1, 26):
                for door in range(1, 3):
                    if i >= rooms:
                        break
                    i += 1
                    area = f"{80 + (i % 60)}.{i % 100:02d}"
                    if changed_every and i % changed_every == 0:
                        area = f"{81 + (i % 60)}.{i % 100:02d}"
                    if i % 50 == 0:
                        lines.append(f"{building},{unit},{floor}{door:02d},{area},,,,residential_lift")
                    else:
                        ref = f"R{(i // 2) if i % 7 == 0 else i:06d}"
                        lines.append(f"{building},{unit},{floor}{door:02d},{area},{ref},业主{ref},"
                                     f"13{(i // 2) if i % 7 == 0 else i:09d},residential_lift")
    return "\n".join(lines) + "\n"


def timed_import(env: dict, path: Path) -> tuple[float, str]:
    environment = dict(os.environ, **env)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "import-ledger",
                             str(path), "--community", "基准小区"], cwd=ROOT, env=environment,
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return elapsed, result.stdout.strip().splitlines()[0]


def run(label: str, env: dict, first: Path, second: Path) -> None:
    t1, out1 = timed_import(env, first)
    t2, out2 = timed_import(env, second)
    print(f"{label:<11} first import {t1:6.2f} s  ({out1})")
    print(f"{label:<11} re-import    {t2:6.2f} s  ({out2})")
    print(f"{label:<11} target < 10 s (wall time of the whole command): "
          f"{'OK' if max(t1, t2) < 10 else 'MISSED'}")


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="wuye-ledger-"))
    first, second = tmp / "ledger.csv", tmp / "ledger2.csv"
    first.write_text(ledger_csv(ROOMS), encoding="utf-8")
    second.write_text(ledger_csv(ROOMS, changed_every=100), encoding="utf-8")
    print(f"ledger import benchmark: {ROOMS} rooms")
    run("SQLite", prepare_database(), first, second)
    try:
        with throwaway_postgres() as server:
            run("PostgreSQL", prepare_database(create_pg_database(server, "bench_ledger")),
                first, second)
    except ServiceMissing as exc:
        print(f"PostgreSQL  skipped: {exc}")


if __name__ == "__main__":
    main()
