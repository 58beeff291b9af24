"""`make run` is an organiser's whole install: the server and a worker, started together,
stopped together by Ctrl-C, and the morning prompt goes out with no extra step."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from push_fixtures import push_receiver_fixture  # noqa: F401
from test_dispatch_races import _seed

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (our own loopback server)
            return response.status == 200
    except OSError:
        return False


def test_run_serves_the_app_and_sends_due_prompts_and_ctrl_c_stops_both(sqlite_template, tmp_path,
                                                                         push_receiver):
    db_file = tmp_path / "eventmate.sqlite3"
    db_file.write_bytes(Path(sqlite_template).read_bytes())
    url = f"sqlite:///{db_file}"
    _seed(url, push_receiver, 3)
    port = _free_port()
    env = {**os.environ, "EVENTMATE_DATABASE_URL": url, "EVENTMATE_PORT": str(port),
           "EVENTMATE_WORKER_INTERVAL": "0.5", "EVENTMATE_BIN": str(Path(os.sys.executable).parent)}
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        run = subprocess.Popen(["bash", "scripts/run.sh"], cwd=ROOT, env=env, stdout=out,
                               stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not _healthy(f"http://127.0.0.1:{port}/healthz") and time.monotonic() < deadline:
            assert run.poll() is None, log.read_text()
            time.sleep(0.2)
        assert _healthy(f"http://127.0.0.1:{port}/healthz"), log.read_text()
        push_receiver.wait_for(3, timeout=30)  # the worker beside the server sent them
        assert {d.payload["title"] for d in push_receiver.deliveries} == {"Good morning, Guest"}
    finally:
        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        try:
            run.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            raise
    time.sleep(0.5)
    try:
        os.killpg(run.pid, 0)
        leftover = True
    except ProcessLookupError:
        leftover = False
    assert not leftover, "a process of `make run` outlived Ctrl-C:\n" + log.read_text()
    output = log.read_text()
    assert "EventMate worker" in output and "Worker stopped." in output
