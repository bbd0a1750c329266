"""Shared benchmark helpers: serve an app under gunicorn on a free loopback port, and
a multi-process keep-alive HTTP load generator (so the client is not limited by one
interpreter's GIL). Everything stays on 127.0.0.1 and every loop is bounded."""
from __future__ import annotations

import atexit
import http.client
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from tests.servers import ROOT, free_port, gunicorn_server  # noqa: F401 (re-exported)


@dataclass
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict = field(default_factory=dict)


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies_ms: list[float]
    statuses: dict[int, int]
    errors: int
    per_request: list[tuple[int, int, bytes]] | None = None  # (index, status, body)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        values = sorted(self.latencies_ms)
        return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]

    def line(self, label: str) -> str:
        return (f"{label:<40} {self.rps:9.1f} req/s  p50 {self.pct(50):7.2f} ms  "
                f"p99 {self.pct(99):7.2f} ms  errors {self.errors}  statuses {dict(self.statuses)}")


def _client(args):
    host, port, jobs, duration, keep_bodies = args
    conn = http.client.HTTPConnection(host, port, timeout=30)
    out = []
    deadline = time.monotonic() + duration if duration else None
    i = 0
    while True:
        if deadline is None:
            if i >= len(jobs):
                break
            index, req = jobs[i]
        else:
            if time.monotonic() >= deadline:
                break
            index, req = jobs[i % len(jobs)]
        i += 1
        started = time.perf_counter()
        try:
            conn.request(req.method, req.path, body=req.body, headers=req.headers)
            response = conn.getresponse()
            body = response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
            status, body = 0, b""
        elapsed = (time.perf_counter() - started) * 1000
        out.append((index, status, elapsed, body if keep_bodies else b""))
    conn.close()
    return out


def http_load(host: str, port: int, requests: list[Request], *, concurrency: int = 8,
              duration: float | None = None, keep_bodies: bool = False,
              warmup: int = 20) -> LoadResult:
    """Send ``requests`` from ``concurrency`` processes with keep-alive connections.

    With ``duration`` each client loops over its share until time is up (throughput);
    without, every request is sent exactly once (correctness runs, e.g. ballots).
    """
    if warmup:
        _client((host, port, list(enumerate(requests[:1])) * warmup, None, False))
    shares = [[] for _ in range(concurrency)]
    for index, req in enumerate(requests):
        shares[index % concurrency].append((index, req))
    shares = [s for s in shares if s]
    ctx = mp.get_context("fork")
    started = time.perf_counter()
    with ctx.Pool(len(shares)) as pool:
        results = pool.map(_client, [(host, port, s, duration, keep_bodies) for s in shares])
    seconds = time.perf_counter() - started
    flat = [item for chunk in results for item in chunk]
    statuses: dict[int, int] = {}
    for _, status, _, _ in flat:
        statuses[status] = statuses.get(status, 0) + 1
    return LoadResult(
        requests=len(flat), seconds=seconds, latencies_ms=[e for _, _, e, _ in flat],
        statuses=statuses, errors=sum(1 for _, s, _, _ in flat if s == 0 or s >= 500),
        per_request=[(i, s, b) for i, s, _, b in flat] if keep_bodies else None,
    )


def json_request(method: str, path: str, payload=None, token: str | None = None) -> Request:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(payload).encode() if payload is not None else None
    return Request(method, path, body, headers)


def prepare_database(url: str | None = None) -> dict:
    """A fresh migrated database for a benchmark; returns env vars for the server.
    SQLite in a temp dir unless ``url`` (e.g. a PostgreSQL URL) is given."""
    tmp = tempfile.mkdtemp(prefix="wuye-bench-")
    atexit.register(shutil.rmtree, tmp, True)
    env = {"INSTANCE_DIR": tmp, "SECRET_KEY": "bench-secret-key-0123456789",
           "DATABASE_URL": url or f"sqlite:///{tmp}/bench.db", "MEDIA_DIR": f"{tmp}/media"}
    environment = dict(os.environ, **env)
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade", "heads"],
                   cwd=ROOT, env=environment, check=True, capture_output=True)
    return env


def app_for(env: dict):
    """An in-process app on the benchmark database (for seeding data)."""
    from backend import create_app

    return create_app({k: v for k, v in env.items()})


def round_ratios(ours: list, baseline: list) -> str:
    """Each round's ratio (``LoadResult``s of rounds run side by side), e.g. "0.61, 0.58"."""
    return ", ".join(f"{a.rps / b.rps:.2f}" for a, b in zip(ours, baseline))


def report_ratio(label: str, ours: float, baseline: float, target: str) -> str:
    ratio = ours / baseline if baseline else float("nan")
    return f"{label}: {ours:.1f} vs baseline {baseline:.1f} → ratio {ratio:.2f} (target {target})"
