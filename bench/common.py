"""Shared benchmark helpers: the prepared database, gunicorn servers on free loopback
ports (``serve`` can serve another checkout of the repository), the wrk load harness
for throughput (``wrk``), and a multi-process HTTP client for runs where every request
must be sent exactly once (ballots, signed pushes). Everything stays on 127.0.0.1 and
every run is bounded."""
from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers import ROOT, free_port, gunicorn_server  # noqa: F401 (re-exported)

WRK_THREADS = 2
WRK_CONNECTIONS = 16


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


def prepare_database(url: str | None = None, tree: Path = ROOT) -> dict:
    """A fresh database migrated by ``tree``'s code (this one unless given); returns env
    vars for the server. SQLite in a temp dir unless ``url`` (e.g. a PostgreSQL URL)
    is given."""
    tmp = tempfile.mkdtemp(prefix="wuye-bench-")
    atexit.register(shutil.rmtree, tmp, True)
    env = {"INSTANCE_DIR": tmp, "SECRET_KEY": "bench-secret-key-0123456789",
           "DATABASE_URL": url or f"sqlite:///{tmp}/bench.db", "MEDIA_DIR": f"{tmp}/media"}
    _, python, extra = tree_gunicorn(tree)
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environment.update(env, **extra)
    out = subprocess.run([python, "-m", "flask", "--app", "wsgi", "db", "upgrade", "heads"],
                         cwd=tree, env=environment, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"migrating the benchmark database with {tree} failed: "
                           f"{out.stderr[-2000:]}")
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


# ----------------------------------------------------------------- HTTP helpers
def fetch(host: str, port: int, request: Request) -> tuple[int, bytes]:
    """One request on a fresh connection: (status, body). For checks, not for load."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request(request.method, request.path, body=request.body, headers=request.headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wx_login(host: str, port: int, openid: str) -> str:
    """A token from the served app's dev login (``dev:<openid>``), so it is whatever
    that app's code issues; dev login is on unless APP_ENV=production."""
    status, body = fetch(host, port, json_request("POST", "/api/v1/auth/wx-login",
                                                  {"code": f"dev:{openid}"}))
    if status != 200:
        raise RuntimeError(f"dev login as {openid!r} failed with {status}: {body[:300]!r} "
                           f"(dev login is off when APP_ENV=production)")
    return json.loads(body)["token"]


# ----------------------------------------------------------------- servers of any tree
def tree_gunicorn(tree: Path) -> tuple[str, str, dict]:
    """(gunicorn executable, its Python, extra environment) for serving ``tree``: the
    tree's own .venv when it has one, else this venv's with PYTHONPATH=tree."""
    own = Path(tree) / ".venv" / "bin"
    if (own / "gunicorn").exists():
        return str(own / "gunicorn"), str(own / "python"), {}
    here = Path(sys.executable).parent
    return str(here / "gunicorn"), sys.executable, {"PYTHONPATH": str(tree)}


def served_package(tree: Path) -> str:
    """Where the ``backend`` package that ``serve(tree=...)`` runs comes from (gunicorn
    puts its working directory first on sys.path, as this does)."""
    _, python, extra = tree_gunicorn(tree)
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environment.update(extra)
    out = subprocess.run([python, "-c", "import sys; sys.path.insert(0, '.'); import backend; "
                          "print(backend.__file__)"], cwd=tree, env=environment,
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"{tree}: cannot import backend: {out.stderr[-1500:]}")
    return str(Path(out.stdout.strip()).parent)


@contextlib.contextmanager
def serve(app: str = "wsgi:app", env: dict | None = None, *, tree: Path = ROOT,
          workers: int = 2, threads: int = 1, ready_path: str = "/healthz",
          timeout: float = 60.0):
    """``tests.servers.gunicorn_server`` (the same flags, rate limits off) for the code of
    ``tree``, a checkout of this repository such as a ``git worktree`` of an older
    commit: gunicorn runs in that directory (which also reads the tree's
    gunicorn.conf.py, as gunicorn_server reads this one's) with ``tree_gunicorn``.
    Yields (host, port)."""
    tree = Path(tree).resolve()
    gunicorn, _, extra = tree_gunicorn(tree)
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environment.update({"RATELIMIT_ENABLED": "false", "LOG_LEVEL": "WARNING"})
    environment.update(env or {})
    environment.update(extra)
    log = tempfile.NamedTemporaryFile(prefix="gunicorn-", suffix=".log", delete=False)
    cmd = [gunicorn, "--workers", str(workers), "--threads", str(threads),
           "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "60", app]
    proc = subprocess.Popen(cmd, cwd=tree, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn for {tree} exited: "
                                   f"{Path(log.name).read_text(errors='replace')[-3000:]}")
            try:
                status, _ = fetch("127.0.0.1", port, Request("GET", ready_path))
                if status < 500:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn for {tree} did not become ready: "
                                   f"{Path(log.name).read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()
        os.unlink(log.name)


@contextlib.contextmanager
def throwaway_redis():
    """A private redis-server on a free loopback port (no persistence); yields its URL.
    Served apps given it run as in production: background and periodic work go to rq
    (which no worker runs here), not inline in the web workers after a response."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("bench: redis-server is not installed (`apt-get install redis-server`)")
    from redis import Redis

    port = free_port()
    workdir = tempfile.mkdtemp(prefix="wuye-bench-redis-")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", workdir,
                             "--maxmemory-policy", "noeviction"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                Redis.from_url(url).ping()
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.05)
        else:
            raise RuntimeError("bench: redis-server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


# ----------------------------------------------------------------- wrk
class LoadFailed(RuntimeError):
    """A load run had answers outside 2xx or socket errors."""


@dataclass
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: dict[str, int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())


@dataclass
class Figures:
    """Medians over rounds, each figure on its own."""

    rps: float
    p50_ms: float
    p99_ms: float
    rounds: list[float]  # each round's req/s


def medians(results: list[WrkResult]) -> Figures:
    return Figures(statistics.median(r.rps for r in results),
                   statistics.median(r.p50_ms for r in results),
                   statistics.median(r.p99_ms for r in results), [r.rps for r in results])


def wrk_binary() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("bench: the wrk load generator is not installed; install it with "
                         "`apt-get install wrk` (Debian's wrk package)")
    return path


def lua_string(value: str | bytes | None) -> str:
    """A Lua string literal (every byte outside printable ASCII as a decimal escape)."""
    if value is None:
        return "nil"
    data = value.encode() if isinstance(value, str) else value
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:03d}"
                         for b in data) + '"'


WRK_SCRIPT = """-- made by bench.common.wrk: sends the requests below in turn, counts answers
-- outside 2xx per thread, and prints the figures as one JSON line when done.
local requests = nil
local sent = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non_2xx = 0
  requests = {
@REQUESTS@
  }
end

function request()
  sent = sent + 1
  return requests[(sent - 1) % #requests + 1]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
  end
end

function done(summary, latency, _)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non_2xx") or 0)
  end
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %.1f, ' ..
    '"p99_us": %.1f, "max_us": %.1f, "non_2xx": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d}\\n', summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max, bad, e.connect, e.read,
    e.write, e.timeout))
end
"""


def wrk_script(requests: list[Request]) -> str:
    lines = []
    for req in requests:
        headers = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in req.headers.items())
        lines.append(f"    wrk.format({lua_string(req.method)}, {lua_string(req.path)}, "
                     f"{{{headers}}}, {lua_string(req.body)}),")
    return WRK_SCRIPT.replace("@REQUESTS@", "\n".join(lines))


def wrk(host: str, port: int, requests: Request | list[Request], seconds: int, *,
        connections: int = WRK_CONNECTIONS, threads: int = WRK_THREADS, check: bool = True,
        label: str = "") -> WrkResult:
    """``seconds`` of wrk against http://host:port with ``requests`` sent in turn (one
    Lua script sets the method, headers such as Authorization, and bodies). With
    ``check``, any answer outside 2xx or any socket error raises LoadFailed."""
    if host != "127.0.0.1":
        raise ValueError("benchmarks stay on 127.0.0.1")
    requests = [requests] if isinstance(requests, Request) else list(requests)
    seconds = max(1, int(seconds))
    with tempfile.NamedTemporaryFile("w", prefix="wrk-", suffix=".lua") as script:
        script.write(wrk_script(requests))
        script.flush()
        cmd = [wrk_binary(), "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
               "--timeout", "10s", "-s", script.name, f"http://{host}:{port}"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    line = next((text for text in out.stdout.splitlines() if text.startswith("WRK_JSON ")),
                None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr[-1500:]}{out.stdout[-1500:]}")
    data = json.loads(line[len("WRK_JSON "):])
    result = WrkResult(requests=data["requests"], seconds=data["duration_us"] / 1e6,
                       p50_ms=data["p50_us"] / 1000, p99_ms=data["p99_us"] / 1000,
                       max_ms=data["max_us"] / 1000, non_2xx=data["non_2xx"],
                       socket_errors={k: data[k] for k in ("connect", "read", "write", "timeout")})
    if check and (result.errors or not result.requests):
        what = f"{label or requests[0].method + ' ' + requests[0].path}"
        raise LoadFailed(f"{what}: {result.non_2xx} answers outside 2xx and socket errors "
                         f"{result.socket_errors} in {result.requests} requests")
    return result
