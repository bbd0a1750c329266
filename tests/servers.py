"""Throwaway servers for tests and benchmarks (no pytest dependency)."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


class ServiceMissing(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def throwaway_postgres():
    """A private PostgreSQL server on a free port; yields its base URL.

    initdb refuses to run as root, so as root the server runs as 'postgres' from a
    directory outside any root-only temp dir.
    """
    if not (PG_BIN / "initdb").exists():
        raise ServiceMissing(f"PostgreSQL server binaries not found in {PG_BIN}")
    base = Path(tempfile.mkdtemp(prefix="wuye-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        as_postgres = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres")
    data = base / "data"
    port = free_port()
    try:
        subprocess.run(as_postgres + [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                                      "--auth=trust", "-E", "UTF8", "--no-locale"],
                       check=True, capture_output=True)
        subprocess.run(as_postgres + [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l",
                                      str(base / "pg.log"), "-w", "-o",
                                      f"-p {port} -k {base} -h 127.0.0.1 -c fsync=off "
                                      f"-c synchronous_commit=off -c full_page_writes=off "
                                      f"-c max_connections=200", "start"],
                       check=True, capture_output=True)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(as_postgres + [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                      "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def create_pg_database(server_url: str, name: str) -> str:
    engine = create_engine(f"{server_url}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{server_url}/{name}"
