"""Check-in and "who's here" throughput and latency through gunicorn, against a bare route;
check-in with organiser dashboards polling against without them; then the morning push
fan-out (bench/fanout.py).

    cd /work/main && bash scripts/with-postgres.sh .venv/bin/python bench/run.py   # or: make bench
    bash scripts/with-postgres.sh .venv/bin/python bench/run.py --only fanout       # one of them

For each database (SQLite WAL in a fresh temporary file; PostgreSQL from
EVENTMATE_TEST_POSTGRES_URL, skipped with a message when unset) this migrates a fresh database
(`flask db upgrade`), makes an event that is on now (`flask demo`), seeds a second event with
2,000 people checked in (bench/seed_people.py, through the check-in service), starts gunicorn
with sync workers serving `bench.wsgi:app` on 127.0.0.1, checks one reader in at the crowded
event through the real form, and for each concurrency runs fixed-length phases, interleaved:

    bare (wrk), bare, check-in, bare, bare (wrk), who's here page 1 (wrk), bare (wrk),
    who's here search (wrk), bare (wrk)

A phase's ratio is its rate over the mean of the two adjacent bare phases driven by the same
client; "vs wrk" is over the adjacent wrk-driven bare phases (wrk costs far less CPU per
request than the Python client, so it is the stricter ratio). Without wrk, everything is
driven by the Python client.

One check-in is what a new person's phone does: GET the poster's form (a fresh cookie jar: a
new device), POST it with its CSRF token and (server-signed) form token, follow the redirect to
the welcome page and check it greets them. It counts as ONE check-in (three HTTP requests). The
limiter stays on; only the per-address ceiling is raised, because every client here shares one
address (like a crowd behind a venue's NAT); the per-form limit is the app's own.

Who's here is GET /e/<slug>/people (the first page, 25 people) and ?q=<word> (a search), with
the reader's cookies (session and `em_device`) and a phone's Accept-Encoding; every client
shares that one identity: reading is what is measured. Each page is checked to be the full
who's-here page (25 `data-person=` cards and the expected count) before the run, and again
after each wrk phase (wrk counts non-2xx statuses but does not read bodies). The bytes on the
wire per page are measured with Accept-Encoding identity, gzip and br.

Dashboards (`--only dashboards`, options `--dash-*`; issue 12): on a fresh database per kind,
the demo organiser logs in through the real form 50 times (50 sessions, as on 50 devices; the
log-in limit is raised for this server only) and each session opens the event page, from which
it reads what static/js/live.js polls and how often (10 s). For each concurrency the phases are

    check-in, check-in + dashboards, check-in, check-in + dashboards, check-in, dashboards alone

(20 s each). While "+ dashboards", every session polls the live fragment as live.js does: the
next poll 10 s after the last answer, first polls spread over one interval, If-None-Match with
the ETag of its last answer, a phone's Accept-Encoding. The ratio is the check-in rate with the
dashboards over the mean of the two adjacent phases without them (target >= 0.9x). The polls
are counted by outcome (304, 200 with the live counters, errors) with their latencies; "alone"
shows the 304 share when nothing changes (each session polls once first, not counted) and the
app's CPU per poll.

The fan-out (`--only fanout`, options `--fanout-*`) is described in bench/fanout.py: 10,000
due prompts sent by `flask send-prompts` to a local push service in another process, against
the encrypt-only rate measured in the same run.

The load generator is a small asyncio HTTP/1.1 client in this process (gunicorn's sync workers
close every connection, so there is no keep-alive to exploit), plus wrk. Both share the 2 cores
with gunicorn (and PostgreSQL): the CPU columns say how much each side used.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
BARE_PATH = "/bench/bare"
WELCOME_TEXT = b"You're in"
CSRF_INPUT_RE = re.compile(rb'name="csrf_token" value="([^"]+)"')
CSRF_META_RE = re.compile(rb'<meta name="csrf-token" content="([^"]+)"')
FORM_TOKEN_RE = re.compile(rb'name="form_token" value="([^"]+)"')
CHECKIN_LINK_RE = re.compile(r"Check-in link:\s+\S+?(/c/[A-Za-z0-9]+/[A-Za-z0-9]+)")
#: Every client shares 127.0.0.1: raise the per-address ceiling (the per-form limit stays).
ADDRESS_LIMIT = "1000000 per minute"
#: Targets from issue 13 ("Fast paths"): the ratio per database, and a tail no longer than
#: 1.5x the median (closed-loop load: latency follows throughput and the connection count).
TARGET_RATIO = {"sqlite": 0.12, "postgresql": 0.10}
TARGET_P99_OVER_P50 = 1.5
#: What a phone's browser accepts; the app compresses its own pages (Flask-Compress).
ACCEPT_ENCODING = "gzip, deflate, br"
#: Who's here: this many people checked in at a second event (bench/seed_people.py), read
#: by one checked-in attendee: the first page, and a search for one word.
WHO_COUNT = 5000
WHO_PAGE_SIZE = 25
WHO_KINDS = ("who-page1", "who-search")
PERSON_RE = re.compile(rb'data-person="')
TARGET_WHO_RATIO = {"sqlite": 0.20, "postgresql": 0.15}
TARGET_WHO_GZIP_BYTES = 30_000  # "30 KB": judged on 30,000 bytes, headers included
CLK_TCK = os.sysconf("SC_CLK_TCK")
#: 'rest' CPU (kernel loopback work + anything else) above this flags a noisy group.
NOISY_REST_PERCENT = 40


# --------------------------------------------------------------------------- the HTTP client


class HTTPError(Exception):
    """A response we did not expect (wrong status, missing token, wrong page)."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    cookies: list[str]
    raw_body: bytes
    head_size: int = 0  # status line and headers, with the blank line after them

    def body(self) -> bytes:
        encoding = self.headers.get("content-encoding", "")
        if encoding == "br":
            import brotli

            return brotli.decompress(self.raw_body)
        if encoding == "gzip":
            return gzip.decompress(self.raw_body)
        if encoding == "deflate":
            return zlib.decompress(self.raw_body)
        return self.raw_body


def update_jar(jar: dict[str, str], response: Response) -> None:
    for line in response.cookies:
        pair, *attrs = line.split(";")
        name, _, value = pair.strip().partition("=")
        expired = any(a.strip().lower() in ("max-age=0", "expires=thu, 01 jan 1970 00:00:00 gmt")
                      for a in attrs)
        if expired or not value:
            jar.pop(name, None)
        else:
            jar[name] = value


async def http(port: int, method: str, target: str, jar: dict[str, str],
               body: bytes | None = None,
               accept_encoding: str = ACCEPT_ENCODING,
               extra_headers: tuple[str, ...] = ()) -> Response:
    """One request on a new connection, read to EOF (sync workers close after each)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        lines = [
            f"{method} {target} HTTP/1.1",
            f"Host: {HOST}:{port}",
            "User-Agent: Mozilla/5.0 (eventmate-bench)",
            "Accept: text/html,application/xhtml+xml,*/*;q=0.8",
            f"Accept-Encoding: {accept_encoding}",
            "Connection: close",
        ]
        if jar:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in jar.items()))
        lines += extra_headers
        if body is not None:
            lines += [
                f"Origin: http://{HOST}:{port}",
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {len(body)}",
            ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b""))
        raw = await reader.read()
    finally:
        writer.close()
    head, sep, payload = raw.partition(b"\r\n\r\n")
    if not sep:
        raise HTTPError("truncated response")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for line in header_lines:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if name == "set-cookie":
            cookies.append(value)
        headers[name] = value
    return Response(int(status_line.split(" ", 2)[1]), headers, cookies, payload,
                    len(head) + len(sep))


# --------------------------------------------------------------------------- the workloads


@dataclass
class Phase:
    kind: str
    concurrency: int
    client: str = "py"  # "py": this process's asyncio client; "wrk"
    ok: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)  # the whole operation, seconds
    #: check-in only: each HTTP request's latency, and tap-to-welcome (POST + redirect)
    request_latencies: list[float] = field(default_factory=list)
    submit_latencies: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # percent of one core
    quiet_before: float = 0.0  # machine busy % just before the phase
    #: wrk reports percentiles, not samples
    fixed_percentiles: dict[int, float] | None = None
    #: wrk: bytes read per response (status line, headers and body)
    wire_bytes: float | None = None

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1

    def percentile(self, p: int) -> float:
        if self.fixed_percentiles is not None:
            return self.fixed_percentiles.get(p, float("nan"))
        return percentile(self.latencies, p)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def summary(self) -> dict:
        out = {
            "kind": self.kind, "client": self.client, "concurrency": self.concurrency,
            "ok": self.ok,
            "errors": self.errors, "error_kinds": self.error_kinds,
            "elapsed_s": round(self.elapsed, 3), "rate": round(self.rate, 1),
            "p50_ms": ms(self.percentile(50)),
            "p99_ms": ms(self.percentile(99)),
            "cpu_percent": {k: round(v) for k, v in self.cpu.items()},
            "machine_busy_before_percent": round(self.quiet_before),
        }
        if self.wire_bytes is not None:
            out["wire_bytes_per_response"] = round(self.wire_bytes)
        if self.kind == "checkin":
            out.update(
                http_rate=round(len(self.request_latencies) / self.elapsed, 1)
                if self.elapsed else 0.0,
                request_p50_ms=ms(percentile(self.request_latencies, 50)),
                request_p99_ms=ms(percentile(self.request_latencies, 99)),
                submit_p50_ms=ms(percentile(self.submit_latencies, 50)),
                submit_p99_ms=ms(percentile(self.submit_latencies, 99)),
            )
        return out


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


async def bare_once(port: int, phase: Phase) -> None:
    start = time.perf_counter()
    response = await http(port, "GET", BARE_PATH, {})
    if response.status != 200 or response.raw_body != b"ok\n":
        raise HTTPError(f"bare {response.status}")
    phase.latencies.append(time.perf_counter() - start)


async def new_device_check_in(port: int, path: str, slug: str, name: str,
                              ) -> tuple[dict[str, str], list[float]]:
    """A new phone checks in through the form: GET it, POST it, follow the redirect.
    Returns the cookie jar (session and `em_device`) and the four timestamps."""
    jar: dict[str, str] = {}  # a new phone: nothing remembered
    t0 = time.perf_counter()
    form = await http(port, "GET", path, jar)
    if form.status != 200:
        raise HTTPError(f"form GET {form.status}")
    update_jar(jar, form)
    page = form.body()
    csrf = CSRF_INPUT_RE.search(page) or CSRF_META_RE.search(page)
    token = FORM_TOKEN_RE.search(page)
    if not csrf or not token:
        raise HTTPError("form without csrf_token/form_token")
    t1 = time.perf_counter()
    body = urlencode({
        "csrf_token": csrf.group(1).decode(),
        "form_token": token.group(1).decode(),
        "name": name,
        "what_i_do": "Runs a small design studio",
        "how_i_help": "Happy to give feedback on your brand or website",
        "looking_for": "A head of marketing at a hotel group",
        "email": "",
        "contact": "",
    }).encode()
    posted = await http(port, "POST", path, jar, body)
    if posted.status != 302:
        raise HTTPError(f"POST {posted.status}")
    update_jar(jar, posted)
    location = posted.headers.get("location", "")
    if not location.endswith(f"/e/{slug}?welcome=1"):
        raise HTTPError("POST redirected elsewhere")
    target = "/" + location.split("://", 1)[1].split("/", 1)[1] if "://" in location else location
    t2 = time.perf_counter()
    home = await http(port, "GET", target, jar)
    if home.status != 200:
        raise HTTPError(f"welcome GET {home.status}")
    update_jar(jar, home)  # a browser keeps the session cookie it is given
    if WELCOME_TEXT not in home.body():
        raise HTTPError("welcome page without greeting")
    return jar, [t0, t1, t2, time.perf_counter()]


async def checkin_once(port: int, path: str, slug: str, n: int, phase: Phase) -> None:
    _jar, (t0, t1, t2, t3) = await new_device_check_in(port, path, slug, f"Bench Person {n}")
    phase.latencies.append(t3 - t0)
    phase.submit_latencies.append(t3 - t1)
    phase.request_latencies += [t1 - t0, t2 - t1, t3 - t2]


def check_who_page(response: Response, expect: bytes) -> bytes:
    """The who's-here page itself, full, not the 403 "isn't checked in here" page."""
    if response.status != 200:
        raise HTTPError(f"who's here {response.status}")
    page = response.body()
    if len(PERSON_RE.findall(page)) != WHO_PAGE_SIZE or expect not in page:
        raise HTTPError("who's here without a full page of people")
    return page


async def who_once(port: int, target: str, jar: dict[str, str], expect: bytes,
                   phase: Phase) -> None:
    start = time.perf_counter()
    check_who_page(await http(port, "GET", target, jar), expect)
    phase.latencies.append(time.perf_counter() - start)


@dataclass
class Site:
    """What the phases load on one server: the check-in poster of the demo event, and who's
    here at the crowded event as one checked-in attendee."""

    checkin_path: str
    slug: str
    who_slug: str = ""
    who_targets: dict[str, str] = field(default_factory=dict)  # phase kind -> request target
    who_expect: dict[str, bytes] = field(default_factory=dict)  # text that page must contain
    jar: dict[str, str] = field(default_factory=dict)  # the attendee's cookies

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.jar.items())


async def run_phase(kind: str, port: int, concurrency: int, duration: float, max_ops: int,
                    site: Site | None = None, timeout: float = 30.0) -> Phase:
    phase = Phase(kind, concurrency)
    counter = iter(range(max_ops))
    deadline = time.perf_counter() + duration

    async def client() -> None:
        for n in counter:
            if time.perf_counter() >= deadline:
                return
            try:
                async with asyncio.timeout(timeout):
                    if kind == "bare":
                        await bare_once(port, phase)
                    elif kind == "checkin":
                        await checkin_once(port, site.checkin_path, site.slug, n, phase)
                    else:
                        await who_once(port, site.who_targets[kind], site.jar,
                                       site.who_expect[kind], phase)
                phase.ok += 1
            except HTTPError as error:
                phase.error(str(error))
            except TimeoutError:
                phase.error("timeout")
            except OSError as error:
                phase.error(type(error).__name__)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    phase.elapsed = time.perf_counter() - start
    return phase


WRK_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def wrk_seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(match.group(1)) * WRK_UNITS[match.group(2)]


WRK_BYTES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def run_wrk(port: int, concurrency: int, duration: float, kind: str = "bare-wrk",
            target: str = BARE_PATH, cookie: str = "") -> Phase:
    """A GET loaded by wrk (C, far cheaper per request than this client). For the bare route,
    a cross-check of how much the Python client holds the bare rate down; for who's here,
    the measurement itself (with the attendee's cookies and a phone's Accept-Encoding)."""
    phase = Phase(kind, concurrency, client="wrk")
    threads = min(concurrency, os.cpu_count() or 1)
    headers = ["-H", f"Accept-Encoding: {ACCEPT_ENCODING}"]
    if cookie:
        headers += ["-H", f"Cookie: {cookie}"]
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(duration))}s",
         "--timeout", "30s", "--latency", *headers, f"http://{HOST}:{port}{target}"],
        capture_output=True, text=True, timeout=duration + 60,
    )
    out = result.stdout
    done = re.search(r"(\d+) requests in ([\d.]+\w+), ([\d.]+)([KMG]?B) read", out)
    if result.returncode != 0 or not done:
        phase.error(f"wrk failed: {result.stderr.strip() or out.strip()}"[:200])
        return phase
    phase.ok, phase.elapsed = int(done.group(1)), wrk_seconds(done.group(2))
    if phase.ok:
        phase.wire_bytes = float(done.group(3)) * WRK_BYTES[done.group(4)] / phase.ok
    phase.fixed_percentiles = {
        int(p): wrk_seconds(v) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M)
    }
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    if errors:
        for kind, count in zip(("connect", "read", "write", "timeout"), errors.groups(),
                               strict=True):
            for _ in range(int(count)):
                phase.error(f"wrk {kind}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        phase.ok -= int(non_2xx.group(1))
        for _ in range(int(non_2xx.group(1))):
            phase.error("wrk non-2xx")
    return phase


# --------------------------------------------------------------------------- CPU accounting


def _proc_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, all CPUs."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def wait_for_quiet(limit: float, threshold: float = 25.0) -> float:
    """Wait (up to `limit` seconds) until the machine is nearly idle while we are; return the
    busy share of the whole machine (percent) seen last. Other work on a shared machine
    (a test suite, a browser) would otherwise land inside a phase unannounced."""
    deadline = time.monotonic() + limit
    while True:
        busy0, total0 = machine_ticks()
        time.sleep(0.5)
        busy1, total1 = machine_ticks()
        busy = (busy1 - busy0) / max(1, total1 - total0) * 100
        if busy < threshold or time.monotonic() >= deadline:
            return busy
        time.sleep(1.0)


class CPUMeter:
    """CPU used during a phase, in percent of one core (the machine has os.cpu_count()):
    this client (and wrk), the gunicorn workers, PostgreSQL, and the rest of the machine
    (the kernel's loopback network work, and anything else running)."""

    def __init__(self, gunicorn_pid: int, postgres: bool):
        self.gunicorn_pid = gunicorn_pid
        self.postgres = postgres

    def sample(self) -> dict[str, dict[int, int] | float]:
        app = {p: _proc_ticks(p) for p in [self.gunicorn_pid, *_children(self.gunicorn_pid)]}
        db = {p: _proc_ticks(p) for p in _postgres_pids()} if self.postgres else {}
        times = os.times()
        client = times.user + times.system + times.children_user + times.children_system
        busy, _total = machine_ticks()
        return {"client": client, "app": app, "db": db, "machine": busy,
                "wall": time.perf_counter()}

    @staticmethod
    def percent(before: dict, after: dict) -> dict[str, float]:
        wall = after["wall"] - before["wall"]

        def ticks(name: str) -> float:
            return sum(t - before[name].get(p, 0) for p, t in after[name].items()) / CLK_TCK

        out = {"client": (after["client"] - before["client"]) / wall * 100,
               "app": ticks("app") / wall * 100}
        if after["db"]:
            out["db"] = ticks("db") / wall * 100
        machine = (after["machine"] - before["machine"]) / CLK_TCK / wall * 100
        out["rest"] = max(0.0, machine - sum(out.values()))
        return out


# --------------------------------------------------------------------------- setup and servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def app_env(database_url: str, secret: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        FLASK_APP="app",
        EVENTMATE_DATABASE_URL=database_url,
        EVENTMATE_SECRET_KEY=secret,
        EVENTMATE_CHECKIN_ADDRESS_RATE_LIMIT=ADDRESS_LIMIT,
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def tree(env: dict[str, str]) -> Path:
    """The app tree a run serves: this checkout, or the --baseline export."""
    return Path(env.get("EVENTMATE_BENCH_TREE", ROOT))


def flask_cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "app", *args], cwd=tree(env), env=env,
        capture_output=True, text=True, timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def reset_postgres(url: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def prepare_database(env: dict[str, str]) -> tuple[str, str]:
    """Migrate, make the demo event (on now); return its check-in path and slug."""
    path, slug, _out = prepare_demo(env)
    return path, slug


def prepare_demo(env: dict[str, str]) -> tuple[str, str, str]:
    """Migrate, make the demo event (on now); return its check-in path, slug, and what
    `flask demo` printed (the demo organiser's log-in is in it)."""
    flask_cli(env, "db", "upgrade")
    out = flask_cli(env, "demo")
    match = CHECKIN_LINK_RE.search(out)
    if not match:
        raise RuntimeError(f"no check-in link in `flask demo` output:\n{out}")
    path = match.group(1)
    return path, path.split("/")[2], out


class Gunicorn:
    def __init__(self, env: dict[str, str], workers: int, port: int, log_path: Path,
                 wsgi: str = "bench.wsgi:app"):
        self.env, self.workers, self.port, self.log_path = env, workers, port, log_path
        self.wsgi = wsgi
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in __exit__
        self.process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "--worker-class", "sync",
             "--workers", str(self.workers), "--bind", f"{HOST}:{self.port}",
             "--backlog", "2048", "--timeout", "60", "--graceful-timeout", "5",
             self.wsgi],
            cwd=tree(self.env), env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_until_up()
        except BaseException:
            self.__exit__()
            raise
        return self

    #: Seconds the workers have to come up (the dashboards' server waits longer: on a machine
    #: busy with other test suites, importing the app took over 30 s on 2026-12-02).
    start_timeout = 30.0

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_path.read_text()}")
            if len(_children(self.process.pid)) >= self.workers and self._answers():
                return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not come up:\n{self.log_path.read_text()}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=2) as sock:
                sock.sendall(f"GET {BARE_PATH} HTTP/1.1\r\nHost: x\r\n"
                             "Connection: close\r\n\r\n".encode())
                return sock.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.log.close()


# --------------------------------------------------------------------------- one database


def seed_crowd(env: dict[str, str], count: int) -> dict:
    """A second event with `count` people checked in (bench/seed_people.py, through the
    check-in service), before gunicorn starts."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.seed_people", "--count", str(count)],
        cwd=tree(env), env=env, capture_output=True, text=True, timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"seeding failed:\n{result.stdout}{result.stderr}")
    crowd = json.loads(result.stdout.strip().splitlines()[-1])
    if crowd["checked_in"] != count:
        raise RuntimeError(f"seeded {crowd['checked_in']} people, not {count}")
    return crowd


async def join_crowd(port: int, crowd: dict, site: Site) -> None:
    """One attendee checks in at the crowded event through the real form; every who's-here
    request reuses their cookies (session and `em_device`): reading is what is measured."""
    jar, _times = await new_device_check_in(port, crowd["checkin_path"], crowd["slug"],
                                            "Bench Reader")
    if "em_device" not in jar:
        raise RuntimeError(f"check-in set no em_device cookie (cookies: {sorted(jar)})")
    word = crowd["search_word"]
    site.who_slug, site.jar = crowd["slug"], jar
    site.who_targets = {
        "who-page1": f"/e/{crowd['slug']}/people",
        "who-search": f"/e/{crowd['slug']}/people?{urlencode({'q': word})}",
    }
    others = crowd["checked_in"]  # the page leaves the reader out
    site.who_expect = {
        "who-page1": f"{others} other people here.".encode(),
        "who-search": f"{crowd['search_matches']} matches for “{word}”".encode(),
    }


async def page_weights(port: int, site: Site) -> dict:
    """Bytes on the wire for each who's-here page (and the stylesheet it links), per
    Accept-Encoding. Each HTML page is checked to be the real, full page."""
    weights: dict[str, dict] = {}
    targets = {**site.who_targets, "app.css": "/static/css/app.css"}
    for kind, target in targets.items():
        row: dict = {"target": target}
        for accept in ("identity", "gzip", "br"):
            response = await http(port, "GET", target, site.jar, accept_encoding=accept)
            if kind in WHO_KINDS:
                page = check_who_page(response, site.who_expect[kind])
                row["people"] = len(PERSON_RE.findall(page))
            elif response.status != 200:
                raise HTTPError(f"{target} {response.status}")
            row["raw"] = len(response.body())
            row[accept] = {
                "body": len(response.raw_body), "headers": response.head_size,
                "content_encoding": response.headers.get("content-encoding", "identity"),
            }
            if accept == "gzip":
                row["set_cookie"] = [c.split("=", 1)[0] for c in response.cookies]
                row["cache_control"] = response.headers.get("cache-control", "")
        weights[kind] = row
    return weights


async def verify_who(port: int, site: Site, kind: str) -> str | None:
    """One more request after a wrk phase (wrk counts statuses but reads no bodies)."""
    try:
        check_who_page(await http(port, "GET", site.who_targets[kind], site.jar),
                       site.who_expect[kind])
    except (HTTPError, OSError) as error:
        return str(error) or type(error).__name__
    return None


def phase_plan(args) -> list[str]:
    """bare / check-in / bare, then who's here, each between two bare phases. With wrk, the
    bare route is loaded by wrk around the check-in too, and who's here is driven by wrk."""
    if args.wrk:
        plan = ["bare-wrk", "bare", "checkin", "bare", "bare-wrk"]
        if args.who:
            plan += ["who-page1", "bare-wrk", "who-search", "bare-wrk"]
    else:
        plan = ["bare", "checkin", "bare"]
        if args.who:
            plan += ["who-page1", "bare", "who-search", "bare"]
    return plan


async def run_group(name: str, port: int, concurrency: int, site: Site, meter: CPUMeter,
                    args) -> list[dict]:
    """One concurrency's interleaved phases (see phase_plan)."""
    results = []
    for kind in phase_plan(args):
        waited = time.monotonic()
        quiet = wait_for_quiet(min(args.quiet_wait, args.quiet_budget))
        args.quiet_budget = max(0.0, args.quiet_budget - (time.monotonic() - waited))
        before = meter.sample()
        if kind == "bare-wrk":
            phase = run_wrk(port, concurrency, args.duration)
        elif kind in WHO_KINDS and args.wrk:
            phase = run_wrk(port, concurrency, args.duration, kind,
                            site.who_targets[kind], site.cookie_header())
        else:
            phase = await run_phase(kind, port, concurrency, args.duration, args.max_ops, site)
        phase.cpu = CPUMeter.percent(before, meter.sample())
        phase.quiet_before = quiet
        if kind in WHO_KINDS and phase.client == "wrk":
            problem = await verify_who(port, site, kind)
            if problem:
                phase.error(f"page check after the phase: {problem}")
        summary = {"database": name, **phase.summary()}
        results.append(summary)
        print(f"  {name:10} c={concurrency:<3} {kind:10} {summary['rate']:8.1f}/s  "
              f"p50 {summary['p50_ms']:6.1f} ms  p99 {summary['p99_ms']:7.1f} ms  "
              f"errors {summary['errors']}  (machine {quiet:.0f}% busy before; other load "
              f"{summary['cpu_percent'].get('rest', 0)}% during)", flush=True)
        if summary["error_kinds"]:
            print(f"    errors: {summary['error_kinds']}", flush=True)
        await asyncio.sleep(args.pause)
    return results


@dataclass
class Served:
    """One app tree on one database, served by its own gunicorn: this checkout, or the
    --baseline revision (label `<database>:base`)."""

    label: str
    env: dict[str, str]
    site: Site
    info: dict
    port: int = 0
    server: Gunicorn | None = None
    meter: CPUMeter | None = None


async def serve(stack: contextlib.ExitStack, label: str, name: str, url: str, args, workdir: Path,
                root: Path) -> Served:
    env = app_env(url, secrets.token_urlsafe(32))
    env["EVENTMATE_BENCH_TREE"] = str(root)
    path, slug = prepare_database(env)
    info: dict = {}
    if args.who:
        crowd = seed_crowd(env, args.who_count)
        info["crowd"] = crowd
        print(f"  {label}: seeded {crowd['checked_in']} checked-in people at /e/{crowd['slug']} in "
              f"{crowd['seconds']} s (checkin.check_in, one commit each); "
              f"search word {crowd['search_word']!r} matches {crowd['search_matches']}",
              flush=True)
    served = Served(label, env, Site(path, slug), info, free_port())
    served.server = stack.enter_context(
        Gunicorn(env, args.workers, served.port, workdir / f"gunicorn-{label}.log", args.wsgi))
    served.meter = CPUMeter(served.server.process.pid, postgres=name == "postgresql")
    if args.who:
        await join_crowd(served.port, info["crowd"], served.site)
        info["weights"] = await page_weights(served.port, served.site)
    # Warm up: every worker imports, compiles templates and opens its connection.
    await run_phase("bare", served.port, 16, args.warmup, args.max_ops, served.site)
    await run_phase("checkin", served.port, 16, args.warmup, args.max_ops, served.site)
    if args.who:
        for kind in WHO_KINDS:
            await run_phase(kind, served.port, 16, args.warmup / 2, args.max_ops, served.site)
    return served


async def bench_database(name: str, url: str, args, workdir: Path,
                         baseline: tuple[Path, str] | None = None) -> tuple[list[dict], dict]:
    """This checkout on `url` (and, with --baseline, that revision on its own database of the
    same kind), one concurrency group after the other, alternating which tree goes first."""
    results: list[dict] = []
    with contextlib.ExitStack() as stack:
        trees = [await serve(stack, name, name, url, args, workdir, ROOT)]
        if baseline:
            trees.append(await serve(stack, f"{name}:base", name, baseline[1], args, workdir,
                                     baseline[0]))
        for i, concurrency in enumerate(args.concurrency):
            for served in (trees if i % 2 == 0 else trees[::-1]):
                group = await run_group(served.label, served.port, concurrency, served.site,
                                        served.meter, args)
                while True:
                    rest = max(r["cpu_percent"].get("rest", 0) for r in group)
                    took = sum(r["elapsed_s"] for r in group) + len(group) * (args.pause + 0.5)
                    if rest <= NOISY_REST_PERCENT or took > args.retry_budget:
                        break
                    args.retry_budget -= took
                    print(f"  other load reached {rest}% of a core in this group: repeating it "
                          f"({args.retry_budget:.0f} s of repeats left)", flush=True)
                    served.info.setdefault("discarded", []).extend(group)
                    wait_for_quiet(30)
                    group = await run_group(served.label, served.port, concurrency, served.site,
                                            served.meter, args)
                results += group
        logs = {served.label: served.server.log_path.read_text() for served in trees}
    for label, server_log in logs.items():
        problems = [line for line in server_log.splitlines()
                    if "Traceback" in line or "[ERROR]" in line or "[CRITICAL]" in line]
        if problems:
            print(f"  {label}: gunicorn log has {len(problems)} error line(s); first: {problems[0]}")
    return results, {served.label: served.info for served in trees}


def export_baseline(revision: str, workdir: Path) -> Path:
    """`git archive` of `revision` (no worktree, nothing written under .git), with this
    checkout's bench/ copied in, so both trees run the very same benchmark."""
    root = workdir / "baseline"
    root.mkdir()
    archive = subprocess.run(["git", "archive", "--format=tar", revision], cwd=ROOT,
                             capture_output=True, check=True, timeout=120).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True, timeout=120)
    shutil.rmtree(root / "bench", ignore_errors=True)
    shutil.copytree(ROOT / "bench", root / "bench",
                    ignore=shutil.ignore_patterns("results", "__pycache__"))
    return root


def baseline_postgres(url: str) -> str:
    """A second, empty database on the same PostgreSQL server for the baseline tree."""
    import sqlalchemy as sa

    server = sa.make_url(url)
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql('DROP DATABASE IF EXISTS "eventmate_bench_baseline" WITH (FORCE)')
        conn.exec_driver_sql('CREATE DATABASE "eventmate_bench_baseline"')
    admin.dispose()
    return server.set(database="eventmate_bench_baseline").render_as_string(hide_password=False)


# --------------------------------------------------------------------------- report


def _neighbours(group: list[dict], index: int, kind: str) -> list[dict]:
    """The nearest phase of `kind` before and after group[index] (those that exist)."""
    before = next((r for r in reversed(group[:index]) if r["kind"] == kind), None)
    after = next((r for r in group[index + 1:] if r["kind"] == kind), None)
    return [r for r in (before, after) if r is not None and r["rate"]]


def table(results: list[dict]) -> tuple[str, list[str]]:
    rows = []
    verdicts = []
    header = (f"{'database':15} {'conns':>5} {'phase':10} {'by':>3} {'ops/s':>8} {'p50 ms':>7} "
              f"{'p99 ms':>7} {'errors':>6} {'ratio':>6} {'vs wrk':>6}   "
              "CPU % client/app/db/rest")
    rows.append(header)
    rows.append("-" * len(header))
    keys = sorted({(r["database"], r["concurrency"]) for r in results},
                  key=lambda k: (not k[0].startswith("sqlite"), k[1], k[0]))
    for database, concurrency in keys:
        group = [r for r in results
                 if r["database"] == database and r["concurrency"] == concurrency]
        busiest = max(r["cpu_percent"].get("rest", 0) for r in group)
        noisy = (f" [other load on the machine reached {busiest}% of a core in this "
                 "group: figures are noisy]" if busiest > NOISY_REST_PERCENT else "")
        for i, r in enumerate(group):
            r["ratio"] = r["ratio_vs_wrk"] = None
            if r["kind"] == "checkin" or r["kind"] in WHO_KINDS:
                same = _neighbours(group, i, "bare-wrk" if r["client"] == "wrk" else "bare")
                wrk = _neighbours(group, i, "bare-wrk")
                if same:
                    r["ratio"] = round(r["rate"] / (sum(b["rate"] for b in same) / len(same)), 3)
                if wrk:
                    r["ratio_vs_wrk"] = round(r["rate"] / (sum(b["rate"] for b in wrk) / len(wrk)), 3)
                r["errors_with_neighbours"] = r["errors"] + sum(b["errors"] for b in same + wrk)
            cpu = "/".join(str(r["cpu_percent"].get(k, "-"))
                           for k in ("client", "app", "db", "rest"))
            ratio = f"{r['ratio']:.3f}" if r["ratio"] is not None else ""
            ratio_wrk = f"{r['ratio_vs_wrk']:.3f}" if r["ratio_vs_wrk"] is not None else ""
            flag = "  <- other load" if r["cpu_percent"].get("rest", 0) > NOISY_REST_PERCENT else ""
            rows.append(
                f"{database:15} {concurrency:>5} {r['kind']:10} {r['client']:>3} {r['rate']:>8.1f} "
                f"{r['p50_ms']:>7.1f} {r['p99_ms']:>7.1f} {r['errors']:>6} "
                f"{ratio:>6} {ratio_wrk:>6}   {cpu}{flag}"
            )
        for r in group:
            kind_of_db = database.split(":")[0]
            tail = r["p99_ms"] / r["p50_ms"] if r["p50_ms"] else float("inf")
            tail_check = ("p99/p50", tail <= TARGET_P99_OVER_P50,
                          f"{tail:.2f} ({r['p50_ms']:.0f}/{r['p99_ms']:.0f} ms; target <= "
                          f"{TARGET_P99_OVER_P50})")
            if r["kind"] == "checkin" and r["ratio"] is not None:
                target = TARGET_RATIO[kind_of_db]
                checks = [
                    ("ratio", r["ratio"] >= target, f"{r['ratio']:.3f} (target >= {target})"),
                    tail_check,
                    ("errors", r["errors_with_neighbours"] == 0,
                     f"{r['errors_with_neighbours']} (target 0)"),
                ]
            elif r["kind"] in WHO_KINDS and (r["ratio_vs_wrk"] or r["ratio"]) is not None:
                # Against wrk-driven bare phases when there are any (the stricter figure).
                ratio, label = ((r["ratio_vs_wrk"], "ratio vs wrk bare") if r["ratio_vs_wrk"]
                                else (r["ratio"], "ratio vs bare"))
                target = TARGET_WHO_RATIO[kind_of_db]
                checks = [
                    (label, ratio >= target, f"{ratio:.3f} (target >= {target})"),
                    tail_check,
                    ("errors", r["errors_with_neighbours"] == 0,
                     f"{r['errors_with_neighbours']} (target 0)"),
                ]
            else:
                continue
            verdicts.append(f"{database:15} {concurrency:>3} conns {r['kind']:10}: " + "; ".join(
                f"{name} {'MET' if ok else 'MISSED'} {text}" for name, ok, text in checks)
                + noisy)
    rows.append("")
    rows.append("Check-in detail (per HTTP request: the form GET, the POST, the welcome GET;")
    rows.append("'tap' = POST + redirect, what the person waits for after tapping Check in):")
    rows.append(f"{'database':15} {'conns':>5} {'HTTP req/s':>10} {'req p50':>8} {'req p99':>8} "
                f"{'tap p50':>8} {'tap p99':>8}")
    for r in results:
        if r["kind"] == "checkin":
            rows.append(f"{r['database']:15} {r['concurrency']:>5} {r['http_rate']:>10.1f} "
                        f"{r['request_p50_ms']:>8.1f} {r['request_p99_ms']:>8.1f} "
                        f"{r['submit_p50_ms']:>8.1f} {r['submit_p99_ms']:>8.1f}")
    wire = [r for r in results if r.get("wire_bytes_per_response") and r["kind"] in WHO_KINDS]
    if wire:
        rows.append("")
        rows.append("Who's here under wrk: bytes read per response (headers + body, "
                    f"Accept-Encoding: {ACCEPT_ENCODING}):")
        for r in wire:
            rows.append(f"{r['database']:15} {r['concurrency']:>5} {r['kind']:10} "
                        f"{r['wire_bytes_per_response']:>8}")
    return "\n".join(rows), verdicts


def weight_table(info: dict[str, dict]) -> tuple[str, list[str]]:
    """Bytes on the wire per who's-here page, per Accept-Encoding (body + headers)."""
    rows = [f"{'database':15} {'page':10} {'people':>6} {'raw HTML':>9} {'identity':>9} "
            f"{'gzip':>9} {'br':>9}   (body + headers, bytes; Set-Cookie on a page view)"]
    verdicts = []
    for database, data in info.items():
        for kind, w in data.get("weights", {}).items():
            def wire(accept: str, w=w) -> int:
                return w[accept]["body"] + w[accept]["headers"]

            cookies = ", ".join(w.get("set_cookie", [])) or "none"
            rows.append(f"{database:15} {kind:10} {w.get('people', ''):>6} {w['raw']:>9} "
                        f"{wire('identity'):>9} {wire('gzip'):>9} {wire('br'):>9}   {cookies}")
            for accept in ("gzip", "br"):
                if w[accept]["content_encoding"] != accept:
                    verdicts.append(f"{database:15} {kind}: asked for {accept}, got "
                                    f"{w[accept]['content_encoding']}")
            if kind in WHO_KINDS:
                ok = wire("gzip") <= TARGET_WHO_GZIP_BYTES
                verdicts.append(f"{database:15} {kind:10}: page weight {'MET' if ok else 'MISSED'} "
                                f"{wire('gzip')} bytes gzipped, {wire('br')} br "
                                f"(target <= {TARGET_WHO_GZIP_BYTES} gzipped)")
    return "\n".join(rows), verdicts


# --------------------------------------------------------------------------- dashboards (issue 12)

#: Issue 12, "Benchmark": 50 organiser dashboards polling every 10 s while check-ins run;
#: check-in throughput with them against without them, in the same run (target >= 0.9x), and
#: the share of polls answered 304.
DASH_POLLERS = 50
TARGET_DASH_RATIO = 0.9
#: Fifty log-ins of one account from one address: the app allows 10 a minute per address and
#: account. Raised for the benchmark's server only, as the per-address check-in ceiling is.
LOGIN_LIMIT = "1000000 per minute"
DEMO_LOGIN_RE = re.compile(r"Organiser log-in:\s+\S+\s+\((\S+@\S+) / (\S+)\)")
LIVE_ATTR_RE = re.compile(rb'data-live="([^"]+)"(?:\s+data-live-every="(\d+)")?')
LIVE_COUNT_RE = re.compile(rb"data-checked-in>(\d+)<")
#: live.js: `data-live-every` seconds, 10 when the page does not say (the night itself).
LIVE_JS_EVERY = 10.0
#: Check-ins alone and with the dashboards, alternating, so each "with" phase sits between two
#: "without" phases; then the dashboards alone, with no check-ins (nothing changes: 304s).
DASH_PLAN = ["checkin", "checkin+dash", "checkin", "checkin+dash", "checkin", "dash-idle"]


@dataclass
class Dashboard:
    """One organiser's open event page: its session cookies, the address live.js polls, and
    the ETag of the last answer (what the browser's cache revalidates with: live.js fetches
    with `cache: "no-cache"`, so the browser sends If-None-Match with the stored ETag)."""

    jar: dict[str, str]
    target: str
    every: float
    etag: str | None = None


@dataclass
class Polls:
    """What the dashboards' polls got during one phase."""

    sent: int = 0
    not_modified: int = 0  # 304
    changed: int = 0  # 200 with the live counters
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    latencies_304: list[float] = field(default_factory=list)
    latencies_200: list[float] = field(default_factory=list)
    wire_304: list[int] = field(default_factory=list)  # status line + headers + body
    wire_200: list[int] = field(default_factory=list)
    set_cookie: int = 0  # polls answered with a Set-Cookie (a session re-saved)
    etag_forms: set[str] = field(default_factory=set)
    checked_in_seen: list[int] = field(default_factory=list)  # the counter in each 200

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1

    def summary(self) -> dict:
        answered = self.not_modified + self.changed
        both = self.latencies_304 + self.latencies_200
        return {
            "sent": self.sent, "not_modified_304": self.not_modified, "changed_200": self.changed,
            "errors": self.errors, "error_kinds": self.error_kinds,
            "share_304": round(self.not_modified / answered, 3) if answered else None,
            "p50_ms": ms(percentile(both, 50)), "p99_ms": ms(percentile(both, 99)),
            "p50_304_ms": ms(percentile(self.latencies_304, 50)),
            "p50_200_ms": ms(percentile(self.latencies_200, 50)),
            "wire_bytes_304": round(sum(self.wire_304) / len(self.wire_304)) if self.wire_304 else None,
            "wire_bytes_200": round(sum(self.wire_200) / len(self.wire_200)) if self.wire_200 else None,
            "set_cookie": self.set_cookie, "etag_forms": sorted(self.etag_forms),
            "checked_in_seen": [min(self.checked_in_seen), max(self.checked_in_seen)]
            if self.checked_in_seen else None,
        }


def etag_form(etag: str) -> str:
    """How an ETag looks, not its value: Flask-Compress appends ':br' / ':gzip' to a strong
    ETag when it compresses the body (and then answers If-None-Match itself, after the view)."""
    weak = etag.startswith("W/")
    suffix = re.search(r":(br|gzip|deflate|zstd)\"$", etag)
    return ("W/" if weak else "") + ('"<tag>:' + suffix.group(1) + '"' if suffix else '"<tag>"')


async def organiser_login(port: int, email: str, password: str) -> dict[str, str]:
    """Log in through the real form: GET it (session cookie, CSRF token), POST it, 302."""
    jar: dict[str, str] = {}
    page = await http(port, "GET", "/organiser/login", jar)
    if page.status != 200:
        raise HTTPError(f"log-in form {page.status}")
    update_jar(jar, page)
    csrf = CSRF_INPUT_RE.search(page.body())
    if not csrf:
        raise HTTPError("log-in form without csrf_token")
    body = urlencode({"csrf_token": csrf.group(1).decode(), "email": email,
                      "password": password}).encode()
    posted = await http(port, "POST", "/organiser/login", jar, body)
    if posted.status != 302:
        raise HTTPError(f"log-in POST {posted.status}")
    update_jar(jar, posted)
    return jar


async def open_dashboards(port: int, count: int, email: str, password: str, event_id: int,
                          every: float | None) -> list[Dashboard]:
    """`count` organiser sessions (the demo organiser, one log-in each, as on 50 devices),
    each opening the event page and reading what live.js reads from it: the poll address
    (`data-live`) and its interval (`data-live-every`, else 10 s)."""
    gate = asyncio.Semaphore(4)

    async def one() -> Dashboard:
        async with gate:
            jar = await organiser_login(port, email, password)
            page = await http(port, "GET", f"/organiser/events/{event_id}", jar)
            if page.status != 200:
                raise HTTPError(f"event page {page.status}")
            update_jar(jar, page)
            found = LIVE_ATTR_RE.search(page.body())
            if not found:
                raise HTTPError("event page without data-live")
            page_every = float(found.group(2)) if found.group(2) else LIVE_JS_EVERY
            return Dashboard(jar, found.group(1).decode(), every or page_every)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def poll_once(port: int, dash: Dashboard, polls: Polls, timeout: float = 30.0) -> None:
    """One live.js poll: GET the live fragment with the last ETag in If-None-Match."""
    extra = (f"If-None-Match: {dash.etag}",) if dash.etag else ()
    polls.sent += 1
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            response = await http(port, "GET", dash.target, dash.jar, extra_headers=extra)
    except TimeoutError:
        polls.error("timeout")
        return
    except OSError as error:
        polls.error(type(error).__name__)
        return
    except HTTPError as error:
        polls.error(str(error))
        return
    took = time.perf_counter() - start
    if response.cookies:
        polls.set_cookie += 1
        update_jar(dash.jar, response)
    wire = len(response.raw_body) + response.head_size
    if response.status == 304:
        if response.raw_body:
            polls.error("304 with a body")
            return
        polls.not_modified += 1
        polls.latencies_304.append(took)
        polls.wire_304.append(wire)
    elif response.status == 200:
        found = LIVE_COUNT_RE.search(response.body())
        if not found:
            polls.error("200 without the live counters")
            return
        polls.changed += 1
        polls.latencies_200.append(took)
        polls.wire_200.append(wire)
        polls.checked_in_seen.append(int(found.group(1)))
    else:
        polls.error(f"poll {response.status}")
        return
    etag = response.headers.get("etag")
    if etag:
        dash.etag = etag
        polls.etag_forms.add(etag_form(etag))


async def run_pollers(port: int, dashboards: list[Dashboard], duration: float,
                      polls: Polls) -> None:
    """Each dashboard polls as live.js does: the next poll `every` seconds after the last
    answer. Their first polls are spread evenly over one interval (pages opened at different
    moments), not all at once. A dashboard stops when its next poll would fall past `duration`."""
    deadline = time.perf_counter() + duration

    async def one(i: int, dash: Dashboard) -> None:
        await asyncio.sleep(i * dash.every / len(dashboards))
        while True:
            await poll_once(port, dash, polls)
            if time.perf_counter() + dash.every >= deadline:
                return
            await asyncio.sleep(dash.every)

    await asyncio.gather(*(one(i, d) for i, d in enumerate(dashboards)))


async def prime_dashboards(port: int, dashboards: list[Dashboard]) -> Polls:
    """One poll per dashboard, a few at a time (not measured): afterwards each holds the
    current ETag, as it would a poll after the last check-in."""
    polls = Polls()
    gate = asyncio.Semaphore(8)

    async def one(dash: Dashboard) -> None:
        async with gate:
            await poll_once(port, dash, polls)

    await asyncio.gather(*(one(d) for d in dashboards))
    return polls


async def run_dash_group(name: str, port: int, concurrency: int, site: Site,
                         dashboards: list[Dashboard], meter: CPUMeter, event_size, args,
                         ) -> list[dict]:
    """One concurrency's phases (DASH_PLAN): check-ins alone, check-ins with the dashboards
    polling, alternating; then the dashboards alone."""
    results = []
    for kind in DASH_PLAN:
        if kind == "dash-idle":
            primed = await prime_dashboards(port, dashboards)
            if primed.errors:
                print(f"    priming polls: errors {primed.error_kinds}", flush=True)
        waited = time.monotonic()
        quiet = wait_for_quiet(min(args.quiet_wait, args.quiet_budget))
        args.quiet_budget = max(0.0, args.quiet_budget - (time.monotonic() - waited))
        attendees_before = event_size()
        polls = Polls() if kind != "checkin" else None
        before = meter.sample()
        if kind == "checkin":
            phase = await run_phase("checkin", port, concurrency, args.dash_duration,
                                    args.max_ops, site)
        elif kind == "checkin+dash":
            phase, _ = await asyncio.gather(
                run_phase("checkin", port, concurrency, args.dash_duration, args.max_ops, site),
                run_pollers(port, dashboards, args.dash_duration, polls))
        else:
            phase = Phase(kind, concurrency)
            start = time.perf_counter()
            await run_pollers(port, dashboards, args.dash_duration, polls)
            phase.elapsed = time.perf_counter() - start
        phase.cpu = CPUMeter.percent(before, meter.sample())
        phase.quiet_before = quiet
        summary = {"database": name, **phase.summary(), "kind": kind,
                   "attendees_before": attendees_before, "attendees_after": event_size()}
        if polls is not None:
            summary["polls"] = polls.summary()
        if kind == "dash-idle" and polls.sent:
            # The app's CPU (gunicorn master and workers) over the phase, per poll: nothing
            # else reached the app meanwhile.
            app_seconds = phase.cpu.get("app", 0.0) / 100 * phase.elapsed
            summary["polls"]["app_cpu_ms_per_poll"] = round(app_seconds / polls.sent * 1000, 2)
        results.append(summary)
        line = (f"  {name:10} c={concurrency:<3} {kind:12} ")
        if kind != "dash-idle":
            line += (f"{summary['rate']:7.1f} check-ins/s  p50 {summary['p50_ms']:6.1f} ms  "
                     f"p99 {summary['p99_ms']:7.1f} ms  errors {summary['errors']}")
        if polls is not None:
            p = summary["polls"]
            line += (f"  polls {p['sent']}: 304 {p['not_modified_304']}, 200 {p['changed_200']}, "
                     f"errors {p['errors']}, p50 {p['p50_ms']} / p99 {p['p99_ms']} ms")
        line += (f"  attendees {attendees_before}->{summary['attendees_after']}  (machine "
                 f"{quiet:.0f}% busy before; other load {summary['cpu_percent'].get('rest', 0)}% "
                 "during)")
        print(line, flush=True)
        kinds = dict(summary["error_kinds"])
        if polls is not None:
            kinds.update({f"poll: {k}": v for k, v in polls.error_kinds.items()})
        if kinds:
            print(f"    errors: {kinds}", flush=True)
        await asyncio.sleep(args.pause)
    return results


async def bench_dashboards_database(name: str, url: str, args, workdir: Path,
                                    ) -> tuple[list[dict], dict]:
    """The demo event on a fresh database, its organiser's dashboards open `--dash-pollers`
    times, and DASH_PLAN's phases for each concurrency."""
    import sqlalchemy as sa

    env = app_env(url, secrets.token_urlsafe(32))
    env["EVENTMATE_LOGIN_RATE_LIMIT"] = LOGIN_LIMIT
    path, slug, demo_out = prepare_demo(env)
    login = DEMO_LOGIN_RE.search(demo_out)
    if not login:
        raise RuntimeError(f"no organiser log-in in `flask demo` output:\n{demo_out}")
    engine = sa.create_engine(url)
    results: list[dict] = []
    try:
        with engine.connect() as conn:
            event_id = conn.execute(sa.text("SELECT id FROM event WHERE slug = :slug"),
                                    {"slug": slug}).scalar_one()

        def event_size() -> int:
            with engine.connect() as conn:
                return conn.execute(sa.text(
                    "SELECT count(*) FROM attendee WHERE event_id = :id "
                    "AND checked_in_at IS NOT NULL"), {"id": event_id}).scalar_one()

        with contextlib.ExitStack() as stack:
            port = free_port()
            server = Gunicorn(env, args.workers, port, workdir / f"gunicorn-dash-{name}.log",
                              args.wsgi)
            server.start_timeout = 120.0
            stack.enter_context(server)
            meter = CPUMeter(server.process.pid, postgres=name == "postgresql")
            site = Site(path, slug)
            started = time.perf_counter()
            dashboards = await open_dashboards(port, args.dash_pollers, login.group(1),
                                               login.group(2), event_id, args.dash_every)
            info = {
                "event_id": event_id, "live_path": dashboards[0].target,
                "poll_every_s": dashboards[0].every, "sessions": len(dashboards),
                "distinct_sessions": len({d.jar.get("session") for d in dashboards}),
                "open_seconds": round(time.perf_counter() - started, 2),
            }
            print(f"  {name}: {len(dashboards)} organiser sessions logged in through the form "
                  f"({info['distinct_sessions']} distinct session cookies) and opened "
                  f"/organiser/events/{event_id} in {info['open_seconds']} s; each polls "
                  f"{info['live_path']} every {info['poll_every_s']:g} s", flush=True)
            # Warm up: every worker imports, compiles templates and opens its connection;
            # each dashboard's first poll has no ETag yet (as live.js's first).
            await run_phase("bare", port, 16, args.warmup, args.max_ops, site)
            await run_phase("checkin", port, 16, args.warmup, args.max_ops, site)
            first = await prime_dashboards(port, dashboards)
            info["first_poll"] = first.summary()
            if first.errors or first.changed != len(dashboards):
                raise RuntimeError(f"the dashboards' first polls failed: {first.summary()}")
            for concurrency in args.concurrency:
                group = await run_dash_group(name, port, concurrency, site, dashboards, meter,
                                             event_size, args)
                while True:
                    rest = max(r["cpu_percent"].get("rest", 0) for r in group)
                    took = sum(r["elapsed_s"] for r in group) + len(group) * (args.pause + 0.5)
                    if rest <= NOISY_REST_PERCENT or took > args.dash_retry_budget:
                        break
                    args.dash_retry_budget -= took
                    print(f"  other load reached {rest}% of a core in this group: repeating it "
                          f"({args.dash_retry_budget:.0f} s of repeats left)", flush=True)
                    info.setdefault("discarded", []).extend(group)
                    wait_for_quiet(30)
                    group = await run_dash_group(name, port, concurrency, site, dashboards,
                                                 meter, event_size, args)
                results += group
            server_log = server.log_path.read_text()
    finally:
        engine.dispose()
    problems = [line for line in server_log.splitlines()
                if "Traceback" in line or "[ERROR]" in line or "[CRITICAL]" in line]
    if problems:
        print(f"  {name}: gunicorn log has {len(problems)} error line(s); first: {problems[0]}")
    return results, {name: info}


def dash_table(results: list[dict]) -> tuple[str, list[str]]:
    """Check-ins alone and with the dashboards, the polls' outcomes, and the verdicts."""
    header = (f"{'database':11} {'conns':>5} {'phase':12} {'chk-in/s':>8} {'p50 ms':>7} "
              f"{'p99 ms':>7} {'errors':>6} {'ratio':>6}   {'polls':>5} {'304':>4} {'200':>4} "
              f"{'err':>3} {'304 %':>5} {'poll p50/p99 ms':>16} {'people':>6}   "
              "CPU % client/app/db/rest")
    rows = [header, "-" * len(header)]
    verdicts = []
    keys = sorted({(r["database"], r["concurrency"]) for r in results},
                  key=lambda k: (k[0] != "sqlite", k[1]))
    for database, concurrency in keys:
        group = [r for r in results
                 if r["database"] == database and r["concurrency"] == concurrency]
        for i, r in enumerate(group):
            r["ratio"] = None
            if r["kind"] == "checkin+dash":
                alone = _neighbours(group, i, "checkin")
                if alone:
                    r["ratio"] = round(r["rate"] / (sum(a["rate"] for a in alone) / len(alone)), 3)
            p = r.get("polls")
            if p:
                share = f"{100 * p['share_304']:.0f}" if p["share_304"] is not None else "-"
                latency = f"{p['p50_ms']}/{p['p99_ms']}"
                polls = (f"{p['sent']:>5} {p['not_modified_304']:>4} {p['changed_200']:>4} "
                         f"{p['errors']:>3} {share:>5} {latency:>16}")
            else:
                polls = f"{'':>5} {'':>4} {'':>4} {'':>3} {'':>5} {'':>16}"
            rate = "" if r["kind"] == "dash-idle" else f"{r['rate']:.1f}"
            p50 = "" if r["kind"] == "dash-idle" else f"{r['p50_ms']:.1f}"
            p99 = "" if r["kind"] == "dash-idle" else f"{r['p99_ms']:.1f}"
            errors = "" if r["kind"] == "dash-idle" else str(r["errors"])
            ratio = f"{r['ratio']:.3f}" if r["ratio"] is not None else ""
            cpu = "/".join(str(r["cpu_percent"].get(k, "-"))
                           for k in ("client", "app", "db", "rest"))
            flag = "  <- other load" if r["cpu_percent"].get("rest", 0) > NOISY_REST_PERCENT else ""
            rows.append(f"{database:11} {concurrency:>5} {r['kind']:12} {rate:>8} {p50:>7} "
                        f"{p99:>7} {errors:>6} {ratio:>6}   {polls} "
                        f"{r['attendees_after']:>6}   {cpu}{flag}")
        withs = [r for r in group if r["kind"] == "checkin+dash" and r["ratio"] is not None]
        idle = [r for r in group if r["kind"] == "dash-idle"]
        if not withs:
            continue
        ratio = sum(r["ratio"] for r in withs) / len(withs)
        during = [r["polls"] for r in withs]
        sent = sum(p["sent"] for p in during)
        n304 = sum(p["not_modified_304"] for p in during)
        n200 = sum(p["changed_200"] for p in during)
        poll_errors = sum(p["errors"] for p in during) + sum(r["polls"]["errors"] for r in idle)
        checkin_errors = sum(r["errors"] for r in group)
        busiest = max(r["cpu_percent"].get("rest", 0) for r in group)
        noisy = (f" [other load on the machine reached {busiest}% of a core in this group: "
                 "figures are noisy]" if busiest > NOISY_REST_PERCENT else "")
        text = (f"{database:11} {concurrency:>3} conns dashboards: with/without "
                f"{'MET' if ratio >= TARGET_DASH_RATIO else 'MISSED'} {ratio:.3f} (phases "
                + ", ".join(f"{r['ratio']:.3f}" for r in withs)
                + f"; target >= {TARGET_DASH_RATIO}); errors "
                f"{'MET' if checkin_errors + poll_errors == 0 else 'MISSED'} "
                f"{checkin_errors} check-in, {poll_errors} poll (target 0); polls while "
                f"check-ins ran: {sent}, 304 share "
                f"{(100 * n304 / (n304 + n200)) if n304 + n200 else float('nan'):.1f} % "
                f"({n304} x 304, {n200} x 200)")
        for r in idle:
            p = r["polls"]
            share = f"{100 * p['share_304']:.1f} %" if p["share_304"] is not None else "-"
            text += (f"; with no check-ins: {p['sent']} polls, 304 share {share}, "
                     f"p50/p99 {p['p50_ms']}/{p['p99_ms']} ms, app CPU "
                     f"{p.get('app_cpu_ms_per_poll', '-')} ms per poll")
        verdicts.append(text + noisy)
    return "\n".join(rows), verdicts


def run_dashboards(args) -> dict:
    """Issue 12's benchmark: organiser dashboards polling while check-ins run, on each
    database, through gunicorn; prints the table and the verdicts."""
    print(f"\nEventMate benchmark (organiser dashboards): {args.dash_pollers} logged-in "
          f"dashboards polling with If-None-Match while check-ins run; gunicorn sync "
          f"x{args.workers}, {os.cpu_count()} CPUs, {args.dash_duration:g} s per phase, "
          f"concurrency {args.concurrency}; phases {' / '.join(DASH_PLAN)}", flush=True)
    if args.baseline:
        print("  (--baseline applies to the check-in benchmark only)", flush=True)
    results: list[dict] = []
    info: dict[str, dict] = {}
    workdir = Path(tempfile.mkdtemp(prefix="eventmate-bench-dash-"))
    try:
        for name in args.databases:
            if name == "sqlite":
                url = f"sqlite:///{workdir / 'dashboards.sqlite3'}"
            else:
                url = os.environ.get("EVENTMATE_TEST_POSTGRES_URL", "")
                if not url:
                    print("PostgreSQL SKIPPED: EVENTMATE_TEST_POSTGRES_URL is not set "
                          "(run through `make bench` or scripts/with-postgres.sh).")
                    continue
                reset_postgres(url)
            print(f"{name}: migrating, creating the demo event, starting gunicorn, logging "
                  "the organiser in", flush=True)
            db_results, db_info = asyncio.run(bench_dashboards_database(name, url, args, workdir))
            results += db_results
            info.update(db_info)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text, verdicts = dash_table(results)
    print()
    print(text)
    print()
    print("ratio = check-ins/s with the dashboards polling / mean of the two adjacent phases "
          "without them (same client, same server, same run). people = checked in at the "
          "event after the phase (every poll counts them, and reads each arrival for the chart).")
    print(f"Target (issue 12): check-in throughput with {args.dash_pollers} dashboards polling "
          f">= {TARGET_DASH_RATIO}x without them; report the share of polls answered 304.")
    for line in verdicts:
        print("  " + line)
    return {"results": results, "verdicts": verdicts, "info": info}


def main() -> int:
    import fanout  # bench/fanout.py (bench/ is on sys.path: this file runs as a script)

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between phases")
    parser.add_argument("--max-ops", type=int, default=200_000, help="cap per phase")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"],
                        choices=["sqlite", "postgresql"])
    parser.add_argument("--wrk", action=argparse.BooleanOptionalAction,
                        default=shutil.which("wrk") is not None,
                        help="load the bare route with wrk too, and who's here with wrk "
                             "(default: when installed)")
    parser.add_argument("--who", action=argparse.BooleanOptionalAction, default=True,
                        help="also benchmark who's here (seeds --who-count people)")
    parser.add_argument("--who-count", type=int, default=WHO_COUNT,
                        help="people checked in at the who's-here event")
    parser.add_argument("--quiet-wait", type=float, default=20.0,
                        help="seconds to wait for the machine to go quiet before a phase")
    parser.add_argument("--quiet-budget", type=float, default=45.0,
                        help="total seconds of such waiting in the whole run")
    parser.add_argument("--retry-budget", type=float, default=90.0,
                        help="seconds the run may spend repeating groups disturbed by other "
                             "load (a group is one concurrency's phases, about 60 s)")
    parser.add_argument("--wsgi", default="bench.wsgi:app",
                        help="what gunicorn serves (to try a fix without editing the app)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--baseline", metavar="REV",
                        help="also run this git revision (exported with `git archive`, this "
                             "checkout's bench/ copied in) on its own database, its groups "
                             "interleaved with this checkout's: rows labelled <database>:base")
    parser.add_argument("--only", nargs="+", choices=["checkin", "dashboards", "fanout"],
                        help="run only these benchmarks (default: all). checkin = check-in and who's "
                             "here through gunicorn; dashboards = check-in with and without organiser "
                             "dashboards polling (issue 12); fanout = the morning push fan-out "
                             "(bench/fanout.py)")
    parser.add_argument("--dash-pollers", type=int, default=DASH_POLLERS,
                        help="dashboards: organiser sessions polling the live counters")
    parser.add_argument("--dash-every", type=float, default=None,
                        help="dashboards: seconds between one dashboard's polls (default: what "
                             "the event page tells live.js, 10 s during the night)")
    parser.add_argument("--dash-duration", type=float, default=20.0,
                        help="dashboards: seconds per phase (20: every dashboard polls twice)")
    parser.add_argument("--dash-retry-budget", type=float, default=150.0,
                        help="dashboards: seconds the run may spend repeating groups disturbed "
                             "by other load (a group is about 130 s)")
    fanout.add_arguments(parser, prefix="fanout-")
    args = parser.parse_args()

    if args.fanout_count < 4:
        parser.error("--fanout-count must be at least 4 (each attendee picks three others)")
    if args.dash_pollers < 1:
        parser.error("--dash-pollers must be at least 1")
    only = args.only or ["checkin", "dashboards", "fanout"]

    # A plain SIGTERM (timeout, CI) still unwinds, so gunicorn (and the push service) stop.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    out: dict = {}
    if "checkin" in only:
        out.update(run_checkin(args))
    if "dashboards" in only:
        out["dashboards"] = run_dashboards(args)
    if "fanout" in only:
        options = fanout.options(args, "fanout-")
        print(f"\nEventMate benchmark (morning fan-out): {options.count} due prompts, `flask send-prompts` "
              f"-> a local push service in another process (VAPID verified on every push, every "
              f"{options.sample_every}th subscription decrypted), {os.cpu_count()} CPUs", flush=True)
        fanout_results, fanout_text = fanout.run(args.databases, options)
        print()
        print(fanout_text)
        out["fanout"] = fanout_results
    print(f"\nWhole run: {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False, default=str))
    return 0


def run_checkin(args) -> dict:
    """Check-in and who's here, through gunicorn, on each database; prints the tables."""
    print(f"EventMate benchmark (check-in{', who is here' if args.who else ''}): gunicorn sync "
          f"x{args.workers}, {os.cpu_count()} CPUs, {args.duration:g} s per phase, "
          f"concurrency {args.concurrency}, per-address limit {ADDRESS_LIMIT!r}, "
          f"wrk: {'yes' if args.wrk else 'no'}; phases {' / '.join(phase_plan(args))}",
          flush=True)
    results: list[dict] = []
    info: dict[str, dict] = {}
    workdir = Path(tempfile.mkdtemp(prefix="eventmate-bench-"))
    try:
        base_root = export_baseline(args.baseline, workdir) if args.baseline else None
        for name in args.databases:
            baseline = None
            if name == "sqlite":
                url = f"sqlite:///{workdir / 'bench.sqlite3'}"
                if base_root:
                    baseline = (base_root, f"sqlite:///{workdir / 'baseline.sqlite3'}")
            else:
                url = os.environ.get("EVENTMATE_TEST_POSTGRES_URL", "")
                if not url:
                    print("PostgreSQL SKIPPED: EVENTMATE_TEST_POSTGRES_URL is not set "
                          "(run through `make bench` or scripts/with-postgres.sh).")
                    continue
                reset_postgres(url)
                if base_root:
                    baseline = (base_root, baseline_postgres(url))
            print(f"{name}: migrating, creating the demo event, starting gunicorn", flush=True)
            db_results, db_info = asyncio.run(bench_database(name, url, args, workdir, baseline))
            results += db_results
            info.update(db_info)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    text, verdicts = table(results)
    print()
    print(text)
    print()
    print("ratio = rate / mean of the two adjacent bare phases driven by the same client "
          "(by: py = this process's client, wrk); vs wrk = the same over the adjacent "
          "wrk-driven bare phases.")
    print("Targets (issue 13): check-in >= 0.12x bare on SQLite and >= 0.10x on PostgreSQL; who's "
          "here >= 0.20x and >= 0.15x, <= 30 KB gzipped per page; p99 <= 1.5x p50; zero errors.")
    for line in verdicts:
        print("  " + line)
    weights, weight_verdicts = weight_table(info)
    if weight_verdicts:
        print()
        print("Who's here, bytes on the wire per page (the reader's cookies sent; the page "
              "excludes the reader):")
        print(weights)
        for name, data in info.items():
            crowd = data.get("crowd")
            if crowd:
                print(f"  {name}: {crowd['checked_in']} others checked in; search "
                      f"q={crowd['search_word']!r} matches {crowd['search_matches']}; "
                      f"{WHO_PAGE_SIZE} people per page")
        for line in weight_verdicts:
            print("  " + line)
    return {"results": results, "verdicts": verdicts + weight_verdicts, "who": info}


if __name__ == "__main__":
    sys.exit(main())
