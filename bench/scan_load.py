"""Scanner load: concurrent pickers scanning bins and items against the served app (waitress, real sockets) on
PostgreSQL, beside a trivial endpoint of the same app measured in the same run.

    python -m bench.scan_load [postgresql://postgres@127.0.0.1:5432/test] [--clients 16] [--lines 40]

Without a URL it uses the local `test` database in a fresh schema, dropped afterwards. The server runs in its
own process (as `cangku serve` would); the clients are threads with one keep-alive connection each.
"""

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import urlencode

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
PIN = "1357"


def settings_for(url: str, data_dir: str):
    from cangku.settings import Settings

    return Settings.from_env({"CANGKU_DATABASE_URL": url, "CANGKU_DATA_DIR": data_dir})


def prepare(url: str, clients: int, lines: int) -> list[dict]:
    """A warehouse with one bin per SKU, a picker and a wave of single-unit orders per client."""
    from decimal import Decimal

    from cangku.bootstrap import build
    from domain.services import NewOrder
    from domain.barcodes import gtin_check_digit
    from domain.order import Buyer, OrderLine

    system = build(settings_for(url, "/tmp/cangku-bench"))
    app = system.app
    skus = 64
    eans = {}
    for n in range(skus):
        body = f"690{n:09d}"
        eans[f"SKU-{n:02d}"] = body + str(gtin_check_digit(body))
    app.catalogue.register_skus({i + 2: {"code": code, "name": code, "barcodes": [ean]} for i, (code, ean) in
                       enumerate(eans.items())})
    rows = {2: ("WH1", "RCV-01", "R", "receiving", 0), 3: ("WH1", "PACK-01", "P", "packing", 0)}
    rows.update({n + 4: ("WH1", f"A-{n:02d}", "A", "storage", 10 + n) for n in range(skus)})
    app.inventory.add_locations(rows)
    app.inventory.load_opening_stock({n + 2: ("WH1", f"SKU-{n:02d}", f"A-{n:02d}", 10_000) for n in range(skus)}, "bench")
    buyer = Buyer("bench", "王小明", "13812345678", "文三路 90 号")
    region = {"province": "浙江省", "city": "杭州市", "district": "西湖区"}
    plan = []
    for c in range(clients):
        badge = f"P{c:02d}"
        app.staff.register_staff(badge, badge, "picker", PIN, "bench")
        page = [NewOrder("taobao", "bench", f"B{c:02d}-{i:04d}",
                         [OrderLine(1, "p", f"SKU-{(c * 7 + i) % skus:02d}", "x", 1, Decimal("1"))], buyer, region,
                         Decimal("1")) for i in range(lines)]
        order_ids = [r["order_id"] for r in app.orders.import_orders(page, warehouse="WH1")]
        wave = app.fulfilment.wave(app.fulfilment.create_wave("WH1", f"W{c:02d}", order_ids, "bench"))
        scans = [("action", wave.number)]
        for line in wave.lines:
            scans += [("scan", line["bin"]), ("scan", eans[line["sku"]])]
        plan.append({"badge": badge, "device": f"bench-{c:02d}", "scans": scans})
    system.close()
    return plan


def serve(url: str, threads: int, processes: int) -> None:
    """The server: print the port, then serve until killed; with several processes they share one socket."""
    import fcntl
    import os
    import socket

    from waitress.server import create_server

    from cangku.bootstrap import build
    from scanner_ui import create_app

    listening = socket.create_server(("127.0.0.1", 0), backlog=256)
    print(listening.getsockname()[1], flush=True)
    for _ in range(processes - 1):
        if os.fork() == 0:
            break
    os.makedirs("/tmp/cangku-bench", exist_ok=True)
    with open("/tmp/cangku-bench/serve.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one process at a time creates the tables and functions it finds missing
        system = build(settings_for(url, "/tmp/cangku-bench"))
    server = create_server(create_app(system), sockets=[listening], threads=threads, ident="cangku",
                           connection_limit=200)
    server.run()


class Client:
    def __init__(self, port: int, device: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"X-Device-Id": device}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        self.conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
        response = self.conn.getresponse()
        data = response.read()
        cookie = response.getheader("Set-Cookie")
        if cookie and cookie.startswith("session="):
            self.headers["Cookie"] = cookie.split(";", 1)[0]
        return response.status, data

    def login(self, badge: str) -> None:
        status, _ = self.request("POST", "/login", urlencode({"badge": badge, "pin": PIN}).encode(),
                                 {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 303:
            raise SystemExit(f"login of {badge} failed with HTTP {status}")


def run_clients(port: int, plan: list[dict], work) -> tuple[list[float], float, list]:
    """Run `work(client, plan_item, latencies, problems)` on one thread per client, all started together."""
    latencies: list[list[float]] = [[] for _ in plan]
    problems: list = []
    clients = []
    for item in plan:
        client = Client(port, item["device"])
        client.login(item["badge"])
        clients.append(client)
    barrier = threading.Barrier(len(plan) + 1)

    def one(n):
        barrier.wait()
        work(clients[n], plan[n], latencies[n], problems)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(len(plan))]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return [x for per in latencies for x in per], time.perf_counter() - started, problems


def scanning(client: Client, item: dict, latencies: list[float], problems: list) -> None:
    seq = 1
    for kind, value in item["scans"]:
        while True:
            body = json.dumps({"screen": "pick", "seq": seq, "kind": kind, "value": value}).encode()
            t = time.perf_counter()
            status, data = client.request("POST", "/scan", body,
                                          {"Content-Type": "application/json", "Accept": "application/json"})
            latencies.append(time.perf_counter() - t)
            answer = json.loads(data)
            if status == 409 and answer["error"]["code"] == "stale_sequence":
                seq = answer["next_sequence"]  # the page's number was used by the sign-in: renumber, as the page does
                continue
            break
        seq += 1
        if status != 200:
            problems.append((item["badge"], seq, value, status, data[:200]))


def trivial(requests: int):
    def work(client: Client, item: dict, latencies: list[float], problems: list) -> None:
        for _ in range(requests):
            t = time.perf_counter()
            status, _ = client.request("GET", "/health")
            latencies.append(time.perf_counter() - t)
            if status != 200:
                problems.append(status)

    return work


def report(name: str, latencies: list[float], seconds: float) -> dict:
    ordered = sorted(latencies)
    p = lambda q: ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000  # noqa: E731
    row = {"name": name, "requests": len(ordered), "per_s": len(ordered) / seconds, "p50_ms": p(0.50),
           "p95_ms": p(0.95), "p99_ms": p(0.99), "mean_ms": statistics.fmean(ordered) * 1000}
    print(f"{name:<22}{row['requests']:>8}{row['per_s']:>10.0f}{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}"
          f"{row['p99_ms']:>9.1f}")
    return row


def verify(url: str, plan: list[dict]) -> list[str]:
    """Every pick scan recorded once and in order, every wave picked, every unit in the packing bin, no bin below
    zero: what the run must leave behind, read back from the store."""
    from cangku.bootstrap import build
    from domain import ids
    from domain.scanning import Device, device_id

    system = build(settings_for(url, "/tmp/cangku-bench"))
    app = system.app
    problems, picked, skus = [], 0, set()
    for item in plan:
        recorded = [e.sequence for e in app.store.events.get(device_id(item["device"]))
                    if isinstance(e, Device.Scanned) and e.screen == "pick"]
        if len(recorded) != len(item["scans"]) or recorded != sorted(set(recorded)):
            problems.append(f"{item['device']}: {len(recorded)} pick scans recorded for {len(item['scans'])} sent, "
                            f"or out of order")
        wave = app.fulfilment.wave(ids.wave_id("WH1", item["scans"][0][1]))
        if wave.status != "picked":
            problems.append(f"wave {wave.number} is {wave.status}")
        picked += sum(line["picked"] for line in wave.lines)
        skus.update(line["sku"] for line in wave.lines)
    levels = [app.inventory.stock_levels("WH1", sku) for sku in sorted(skus)]
    if any(level["on_hand"] < 0 or level["reserved"] < 0 for bins in levels for level in bins.values()):
        problems.append("a bin went below zero")
    packed = sum(bins.get("PACK-01", {}).get("on_hand", 0) for bins in levels)
    if packed != picked:
        problems.append(f"{packed} units in the packing bin for {picked} picked")
    system.close()
    return problems


def server_cpu_seconds(group: int) -> float:
    """CPU time (user + system) used so far by every process of the server's process group."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # field 5 of stat: the process group
            total += int(fields[11]) + int(fields[12])  # fields 14 and 15: utime, stime
    return total / tick


def fresh_schema(url: str) -> tuple[str, callable]:
    import psycopg

    from cangku.settings import Database

    db = Database.from_url(url, data_dir=None)
    schema = f"bench_scan_{uuid.uuid4().hex[:8]}"
    conninfo = f"host={db.host} port={db.port} dbname={db.dbname} user={db.user}" + (
        f" password={db.password}" if db.password else "")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')

    def drop():
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    return f"{url}{'&' if '?' in url else '?'}schema={schema}", drop


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", nargs="?", default=None, help="PostgreSQL URL (default: local test, fresh schema)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--lines", type=int, default=40, help="pick lines per client (two scans each)")
    parser.add_argument("--threads", type=int, default=16, help="waitress worker threads per process")
    parser.add_argument("--processes", type=int, default=2, help="server processes sharing the socket")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.url, args.threads, args.processes)
    url, drop = fresh_schema(args.url or DEFAULT_URL)
    server = None
    try:
        started = time.perf_counter()
        plan = prepare(url, args.clients, args.lines)
        print(f"prepared {args.clients} waves of {args.lines} lines in {time.perf_counter() - started:.1f} s")
        server = subprocess.Popen([sys.executable, "-m", "bench.scan_load", url, "--serve", "--threads",
                                   str(args.threads), "--processes", str(args.processes)],
                                  stdout=subprocess.PIPE, text=True, start_new_session=True)
        port = int(server.stdout.readline())
        print(f"{'':<22}{'requests':>8}{'per s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
        latencies, seconds, problems = run_clients(port, plan, trivial(100))
        baseline = report("GET /health", latencies, seconds)
        cpu_before = server_cpu_seconds(server.pid)
        latencies, seconds, problems = run_clients(port, plan, scanning)
        cpu = server_cpu_seconds(server.pid) - cpu_before
        scans = report("pick scans (POST)", latencies, seconds)
        if problems:
            print(f"{len(problems)} scans were refused or failed, e.g. {problems[:3]}")
        wrong = verify(url, plan)
        print("checked: each scan recorded once and in order, every wave picked, no bin below zero" if not wrong
              else f"check failed: {wrong[:5]}")
        goal = scans["p95_ms"] <= 2 * baseline["p95_ms"] and scans["per_s"] >= 400
        print(f"goal p95 ≤ 2× /health's ({2 * baseline['p95_ms']:.0f} ms) and ≥ 400 scans/s: "
              f"{'met' if goal else 'not met'}; a scan costs {scans['mean_ms'] / baseline['mean_ms']:.1f}× the "
              f"trivial request")
        per_scan = cpu / max(scans["requests"], 1)
        cores = os.cpu_count() or 1
        print(f"where the time goes: the servers spent {per_scan * 1000:.1f} ms of CPU per scan, so {cores} cores "
              f"(shared with the {args.clients} clients) serve at most {cores / per_scan:.0f} scans/s")
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)  # the server and the processes it forked
            server.wait(timeout=10)
        drop()


if __name__ == "__main__":
    main()
