"""The fault tier: `cangku serve` and `cangku worker` as real processes on PostgreSQL and RabbitMQ, killed with
SIGKILL or cut from the broker while they work, then started again."""

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import port_open
from tests.waiting import until

ROOT = Path(__file__).resolve().parents[2]


class CangkuProcess:
    """One `python -m cangku <command>` process with its own settings; `kill()` is SIGKILL, `start()` starts it
    again with the same settings (its output goes on in the same log file)."""

    def __init__(self, command: str, env: dict[str, str], log: Path, ready):
        self.command, self.env, self.log, self.ready = command, env, log, ready
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> "CangkuProcess":
        self.starts += 1
        with open(self.log, "a") as out:
            out.write(f"--- start {self.starts} ---\n")
            out.flush()
            self.process = subprocess.Popen([sys.executable, "-m", "cangku", self.command], cwd=ROOT, env=self.env,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        until(lambda: self._alive() and self.ready(self), 60, self.tail)
        return self

    def _alive(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"cangku {self.command} exited with {self.process.returncode}\n{self.tail()}")
        return True

    def kill(self) -> None:
        """SIGKILL: no handler runs, no transaction is finished, nothing is flushed."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        """What the process printed since its latest start."""
        return self.log.read_text(errors="replace").rsplit("--- start", 1)[-1] if self.log.exists() else ""

    def tail(self) -> str:
        return self.output()[-4000:]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def cangku_process(tmp_path, postgres_url):
    """Make `cangku serve` / `cangku worker` processes on this test's PostgreSQL schema (stopped afterwards)."""
    made: list[CangkuProcess] = []

    def make(command: str, **settings: str) -> CangkuProcess:
        env = {key: value for key, value in os.environ.items() if not key.startswith("CANGKU_")}
        env.update({"CANGKU_DATABASE_URL": postgres_url, "CANGKU_DATA_DIR": str(tmp_path / "data"),
                    "CANGKU_SIMULATORS": "0", "CANGKU_SECRET_KEY": "fault-tier-session-key",
                    "CANGKU_JOB_MIN_BACKOFF_MS": "100", "CANGKU_JOB_MAX_BACKOFF_MS": "500",
                    "CANGKU_JOB_MAX_RETRIES": "30", "PYTHONUNBUFFERED": "1"})
        env.update({f"CANGKU_{key.upper()}": str(value) for key, value in settings.items()})
        ready = serving if command == "serve" else consuming
        process = CangkuProcess(command, env, tmp_path / f"{command}-{len(made)}.log", ready)
        made.append(process)
        return process

    yield make
    for process in made:
        process.stop()


def serving(process: CangkuProcess) -> bool:
    return port_open("127.0.0.1", int(process.env["CANGKU_PORT"]), tries=1) and "serving on" in process.output()


def consuming(process: CangkuProcess) -> bool:
    return "worker consuming" in process.output()


class ScannerClient:
    """A scanner on one device over HTTP, signed in; `scan` resends the same numbered scan until it is answered."""

    def __init__(self, port: int, device: str, badge: str, pin: str):
        self.port, self.device = port, device
        self.cookie = ""
        self.sequence = 0
        self.answered: list[dict] = []
        self.resent = 0
        self._request("POST", "/login", f"badge={badge}&pin={pin}".encode(),
                      {"Content-Type": "application/x-www-form-urlencoded"})

    def _request(self, method: str, path: str, body: bytes, headers: dict) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers={"X-Device-Id": self.device, "Cookie": self.cookie,
                                                           "Accept": "application/json", **headers})
            response = conn.getresponse()
            data = response.read()
            cookie = response.getheader("Set-Cookie")
            if cookie and cookie.startswith("session="):
                self.cookie = cookie.split(";", 1)[0]
            return response.status, (json.loads(data) if data.startswith(b"{") else {})
        finally:
            conn.close()

    def scan(self, screen: str, value: str, kind: str = "scan") -> dict:
        """Send one numbered scan; a refused connection or a cut answer sends the same scan again."""
        self.sequence = self.sequence or 1
        while True:
            body = json.dumps({"screen": screen, "seq": self.sequence, "kind": kind, "value": value}).encode()
            try:
                status, answer = self._request("POST", "/scan", body, {"Content-Type": "application/json"})
            except (OSError, http.client.HTTPException):
                self.resent += 1
                time.sleep(0.05)  # the server is down: ask again shortly, as the scanner page does
                continue
            code = answer.get("error", {}).get("code")
            if status == 200:
                break
            if status == 409 and code == "stale_sequence" and not self.answered:
                self.sequence = answer["next_sequence"]  # the sign-in took the first numbers, as the page knows
                continue
            if status >= 500 or status == 409 and code == "concurrent_update":
                self.resent += 1
                continue
            raise AssertionError(f"{self.device} scan {self.sequence} answered {status}: {answer}")
        scan = answer["scan"]
        self.answered.append({"sequence": self.sequence, "key": scan["key"], "outcome": scan["outcome"]})
        self.sequence += 1
        return scan
