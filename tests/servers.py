"""Throwaway servers for tests and benchmarks (no pytest dependency)."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import http.client
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
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


@contextlib.contextmanager
def gunicorn_server(app: str = "wsgi:app", env: dict | None = None, workers: int = 2,
                    threads: int = 1, ready_path: str = "/healthz", timeout: float = 30.0):
    """Serve ``app`` (a gunicorn app spec) with ``workers`` sync workers; yields
    (host, port). ``env`` is added to the environment (DATABASE_URL etc.)."""
    port = free_port()
    environment = dict(os.environ)
    environment.update({"RATELIMIT_ENABLED": "false", "LOG_LEVEL": "WARNING"})
    environment.update(env or {})
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)
    cmd = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
           "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "60", app]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {Path(log.name).read_text()[-2000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", ready_path)
                if conn.getresponse().status < 500:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not become ready")
            time.sleep(0.1)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        os.unlink(log.name)
