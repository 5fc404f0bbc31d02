"""Scale: a log of ten million events — the full rebuild of every projection and the server's memory while serving,
each beside a baseline measured in the same run.

The log is bench/rebuild.py's: real order traffic (import, reserve, wave, pick, pack, waybill, label, hand-over,
refunds and returns, with their stock movements) made by the domain's aggregates and written in big batches
through the application's recorder; a progress line shows the write rate. Then:

1. every projection rebuilt in one pass (`rebuild_together` over the system's runners, as
   `cangku projections rebuild` does), beside the bare read-and-decode rate of the same log;
2. `cangku serve` started in its own process on the same database, idle for a while (the baseline), then a
   bounded number of back-office pages, API reads and /health over loopback, its VmRSS sampled throughout.

    python bench/scale.py                                               # 10,000,000 events, SQLite in a temp folder
    python bench/scale.py postgresql://postgres@127.0.0.1:5432/test --events 1000000
    python bench/scale.py --events 1000000 --keep                       # keep the log, reuse it next time

Goals: the full rebuild under 10 minutes, the server under 400 MB resident.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.rebuild import _conninfo, make_log, read_and_decode, scratch_database  # noqa: E402
from bench.scan_load import PIN, Client  # noqa: E402
from cangku.bootstrap import build  # noqa: E402
from cangku.settings import Settings  # noqa: E402
from domain.staff import NotAllowed  # noqa: E402
from projections.tracking import projection_tracking, rebuild_together, tracking_metadata  # noqa: E402

REBUILD_GOAL_S = 600
RSS_GOAL_MB = 400
TEN_MILLION = 10_000_000
BADGE = "SCALE01"
OFFICE_PAGES = ("/office/", "/office/orders", "/office/exceptions", "/office/finance/orders", "/office/finance/skus",
                "/office/finance/days", "/office/finance/stock", "/office/customers", "/office/replenishment",
                "/office/stock", "/office/movements", "/office/settlement", "/office/audit", "/office/audit/chain",
                "/supervisor", "/supervisor/scans")
API_READS = ("/api/v1/stock", "/api/v1/stock/movements", "/api/v1/orders/counts", "/api/v1/orders/exceptions",
             "/api/v1/finance/orders", "/api/v1/finance/skus", "/api/v1/finance/days",
             "/api/v1/finance/stock-valuation", "/api/v1/crm/customers", "/api/v1/crm/repeat-rate",
             "/api/v1/replenishment", "/api/v1/settlement/bills", "/api/v1/audit/chain-head")


@contextmanager
def log_database(postgres_url: str, events: int, keep: bool) -> Iterator[tuple[str, str]]:
    """The database URL and data folder of the log: scratch ones, or with --keep a fixed folder (and schema) that
    outlives the run and is reused by the next one of the same size."""
    if not keep:
        with tempfile.TemporaryDirectory(prefix="cangku-scale-") as folder, \
                scratch_database(postgres_url, folder) as url:
            yield url, folder
        return
    folder = Path(tempfile.gettempdir()) / f"cangku-scale-{events}"
    folder.mkdir(exist_ok=True)
    if not postgres_url:
        yield f"sqlite:///{folder}/cangku.sqlite", str(folder)
        return
    import psycopg

    schema = f"scale_{events}"
    with psycopg.connect(_conninfo(postgres_url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    yield f"{postgres_url}{'&' if '?' in postgres_url else '?'}schema={schema}", str(folder)


class Progress:
    """A line about every ten seconds while a long pass advances: how far, how fast, how long still."""

    def __init__(self, label: str, total: int):
        self.label, self.total, self.done = label, total, 0
        self.started = self.last = time.perf_counter()

    def update(self, n: int) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self.last >= 10:
            self.last = now
            rate = self.done / (now - self.started)
            left = max(self.total - self.done, 0) / rate
            print(f"{self.label}: {self.done:>12,} of {self.total:,} events, {rate:,.0f} events/s, "
                  f"about {left / 60:.1f} min left", file=sys.stderr, flush=True)


def show_write_rate(recorder, progress: Progress) -> None:
    """Report each batch the generator writes through the recorder to `progress`."""
    insert_events = recorder.insert_events

    def insert_and_report(stored_events, **kwargs):
        result = insert_events(stored_events, **kwargs)
        progress.update(len(stored_events))
        return result

    recorder.insert_events = insert_and_report


def grow_log(system, events: int) -> tuple[int, float]:
    """The log's size and the seconds spent writing it (0 when an existing log is reused)."""
    recorder = system.app.store.recorder
    head = recorder.max_notification_id() or 0
    if head:
        print(f"log: reusing {head:,} events already stored" +
              (f" (fewer than the {events:,} asked for: remove the kept log to grow it)" if head < events else ""))
        return head, 0.0
    show_write_rate(recorder, Progress("  writing", events))
    started = time.perf_counter()
    total = make_log(system, events, 500, random.Random(7))
    seconds = time.perf_counter() - started
    del recorder.insert_events
    print(f"log: {total:,} events written in {seconds:.1f} s ({total / seconds:,.0f} events/s)")
    return total, seconds


def measure_rebuild(system, total: int) -> dict:
    count, bare = read_and_decode(system.app)
    runners = list(system.runners.values())
    head = system.app.store.recorder.max_notification_id() or 0
    progress = Progress("  rebuilding", head)
    started = time.perf_counter()
    rebuild_together(runners, progress=progress.update, page_size=max(system.settings.projection_batch, 1000))
    seconds = time.perf_counter() - started
    return {"bare_rate": count / bare, "bare_s": bare, "rate": total / seconds, "seconds": seconds,
            "projections": len(runners)}


def api_token(system) -> str:
    """An admin who may read every page, and an API token of theirs."""
    staff = system.app.staff
    try:
        staff.member(BADGE)
    except NotAllowed:
        staff.register_staff(BADGE, "Scale bench", "admin", PIN, "bench")
    return staff.issue_token(BADGE, "scale bench", "bench")


def mark_dispatched(system) -> None:
    """Move the outbox's position to the head: the generated log stands for history whose messages (shipment
    confirmations, stock pushes) went out long ago, so the server must not send them all again while measured."""
    head = system.app.store.recorder.max_notification_id() or 0
    tracking_metadata.create_all(system.engine)
    with system.engine.begin() as conn:
        conn.execute(projection_tracking.delete().where(projection_tracking.c.name == "dispatcher"))
        conn.execute(projection_tracking.insert().values(name="dispatcher", position=head))


def free_port() -> int:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as listening:
        return listening.getsockname()[1]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


class RssSampler:
    """VmRSS of one process every 50 ms, on a thread, into the phase currently named."""

    def __init__(self, pid: int):
        self.pid, self.phase, self.samples = pid, "", {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(0.05):
            if self.phase:
                try:
                    self.samples.setdefault(self.phase, []).append(rss_mb(self.pid))
                except (OSError, RuntimeError):
                    return

    def during(self, phase: str, seconds: float) -> list[float]:
        self.phase = phase
        time.sleep(seconds)
        self.phase = ""
        return self.samples.get(phase, [])

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()


def wait_until_healthy(port: int, server: subprocess.Popen, seconds: float) -> float:
    import http.client

    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode} before answering")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return time.perf_counter() - started
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not answer /health within {seconds:.0f} s")


def every_read() -> list[tuple[str, str]]:
    return [("office", p) for p in OFFICE_PAGES] + [("api", p) for p in API_READS] + [("health", "/health")]


def touch_each(port: int, token: str, pid: int) -> dict[str, float]:
    """Each read once, one after another, with the server's RSS before and after: which request makes it grow."""
    client = Client(port, "scale-touch")
    client.conn.timeout = 120
    client.login(BADGE)
    growth = {}
    for kind, path in every_read():
        before = rss_mb(pid)
        client.request("GET", path, headers={"Authorization": f"Bearer {token}"} if kind == "api" else {})
        growth[path] = rss_mb(pid) - before
    return growth


def send_requests(port: int, token: str, requests: int, seconds: float, clients: int) -> dict:
    """Back-office pages (logged in), API reads (bearer token) and /health, round robin over `clients` keep-alive
    connections, until `requests` have been answered or `seconds` have passed."""
    paths = every_read()
    by_path: dict[str, list] = {}
    failures: list = []
    lock = threading.Lock()
    sent = 0
    deadline = time.perf_counter() + seconds

    def one(n: int) -> None:
        nonlocal sent
        client = Client(port, f"scale-{n:02d}")
        client.conn.timeout = 120
        client.login(BADGE)
        k = n * len(paths) // clients
        while time.perf_counter() < deadline:
            with lock:
                if sent >= requests:
                    return
                sent += 1
            kind, path = paths[k % len(paths)]
            k += 1
            headers = {"Authorization": f"Bearer {token}"} if kind == "api" else {}
            started = time.perf_counter()
            try:
                status, body = client.request("GET", path, headers=headers)
            except OSError as error:
                failures.append((path, repr(error)))
                client = Client(port, f"scale-{n:02d}")
                client.login(BADGE)
                continue
            latency = time.perf_counter() - started
            with lock:
                by_path.setdefault(path, []).append((status, latency, len(body)))
            if status != 200:
                failures.append((path, status, body[:160]))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"by_path": by_path, "failures": failures, "seconds": time.perf_counter() - started}


def measure_serving(url: str, folder: str, token: str, args) -> dict:
    port = free_port()
    env = {**os.environ, "CANGKU_DATABASE_URL": url, "CANGKU_DATA_DIR": folder,
           "CANGKU_SIMULATORS": "0", "CANGKU_HOST": "127.0.0.1", "CANGKU_PORT": str(port)}
    env.pop("CANGKU_BROKER_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "cangku", "serve", "--threads", "8"], env=env,
                              cwd=str(Path(__file__).resolve().parents[1]), stdout=subprocess.DEVNULL,
                              start_new_session=True)
    sampler = None
    try:
        ready = wait_until_healthy(port, server, 300)
        sampler = RssSampler(server.pid)
        sampler.during("settle", args.idle)
        idle = sampler.during("idle", args.idle)
        sampler.phase = "load"
        growth = touch_each(port, token, server.pid)
        load = send_requests(port, token, args.requests, args.seconds, args.clients)
        sampler.phase = ""
        sampler.during("settle after", args.idle)
        steady = sampler.during("steady", args.idle)
        peak_kernel = rss_mb(server.pid, "VmHWM")
        return {"ready_s": ready, "idle": statistics.median(idle), "peak": max(sampler.samples.get("load", [0])),
                "steady": statistics.median(steady), "hwm": peak_kernel, "load": load,
                "growth": growth}
    finally:
        if sampler is not None:
            sampler.stop()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def report_serving(serving: dict) -> None:
    load = serving["load"]
    answered = sum(len(rows) for rows in load["by_path"].values())
    print(f"serving: ready in {serving['ready_s']:.1f} s; each read once on its own, then {answered} requests answered in {load['seconds']:.1f} s "
          f"({len(load['failures'])} not 200)")
    print(f"  {'path':<36}{'n':>5}{'status':>10}{'mean ms':>10}{'max ms':>10}{'KB':>8}"
          f"{'RSS +MB on first touch':>24}")
    for path, rows in sorted(load["by_path"].items(), key=lambda item: -max(r[1] for r in item[1])):
        statuses = ",".join(sorted({str(r[0]) for r in rows}))
        print(f"  {path:<36}{len(rows):>5}{statuses:>10}{statistics.fmean(r[1] for r in rows) * 1000:>10.0f}"
              f"{max(r[1] for r in rows) * 1000:>10.0f}{max(r[2] for r in rows) / 1024:>8.0f}"
              f"{serving['growth'].get(path, 0):>24.1f}")
    for failure in load["failures"][:5]:
        print(f"  not 200: {failure}")
    print(f"{'server RSS idle (baseline, median)':<48}{serving['idle']:>9.0f} MB")
    print(f"{'server RSS peak while serving':<48}{serving['peak']:>9.0f} MB   (goal < {RSS_GOAL_MB} MB: "
          f"{'met' if serving['peak'] < RSS_GOAL_MB else 'not met'}); kernel high-water mark {serving['hwm']:.0f} MB")
    print(f"{'server RSS steady after serving (median)':<48}{serving['steady']:>9.0f} MB   "
          f"(+{serving['steady'] - serving['idle']:.0f} MB over idle)")


def report_rebuild(total: int, rebuild: dict) -> None:
    print(f"{'bare read and decode of the whole log':<48}{rebuild['bare_rate']:>10,.0f} events/s "
          f"{rebuild['bare_s']:8.1f} s")
    print(f"{'full rebuild, ' + str(rebuild['projections']) + ' projections in one pass':<48}"
          f"{rebuild['rate']:>10,.0f} events/s {rebuild['seconds']:8.1f} s   "
          f"({rebuild['rate'] / rebuild['bare_rate']:.0%} of bare; {1e6 / rebuild['rate']:.0f} µs per event)")
    if total >= TEN_MILLION:
        verdict = "met" if rebuild["seconds"] < REBUILD_GOAL_S else "not met"
        print(f"  goal: full rebuild of {total:,} events < {REBUILD_GOAL_S / 60:.0f} min: {verdict}")
        return
    at_ten = TEN_MILLION / rebuild["rate"]
    print(f"  10,000,000 events EXTRAPOLATED at this rate (not run): rebuild {at_ten / 60:.1f} min, bare read "
          f"{TEN_MILLION / rebuild['bare_rate'] / 60:.1f} min; goal < {REBUILD_GOAL_S / 60:.0f} min: "
          f"{'met' if at_ten < REBUILD_GOAL_S else 'not met'}; the goal needs "
          f"{TEN_MILLION / REBUILD_GOAL_S:,.0f} events/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="", help="PostgreSQL URL (default: SQLite in a temp folder)")
    parser.add_argument("--events", type=int, default=TEN_MILLION)
    parser.add_argument("--keep", action="store_true", help="keep the log after the run and reuse a kept one")
    parser.add_argument("--requests", type=int, default=300, help="requests sent to the server (at most)")
    parser.add_argument("--seconds", type=float, default=240, help="time allowed for those requests (at most)")
    parser.add_argument("--clients", type=int, default=4, help="keep-alive connections sending them")
    parser.add_argument("--idle", type=float, default=5, help="seconds of each idle sampling window")
    args = parser.parse_args()
    with log_database(args.url, args.events, args.keep) as (url, folder):
        settings = Settings.from_env({"CANGKU_DATABASE_URL": url, "CANGKU_DATA_DIR": folder})
        print(f"database: {settings.database.kind}; goals: full rebuild < {REBUILD_GOAL_S / 60:.0f} min, "
              f"server RSS < {RSS_GOAL_MB} MB")
        system = build(settings)
        try:
            total, _ = grow_log(system, args.events)
            rebuild = measure_rebuild(system, total)
            report_rebuild(total, rebuild)
            token = api_token(system)
            mark_dispatched(system)
        finally:
            system.close()
        report_serving(measure_serving(url, folder, token, args))


if __name__ == "__main__":
    main()
