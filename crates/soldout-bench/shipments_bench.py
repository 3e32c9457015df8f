#!/usr/bin/env python3
"""Shipments benchmark: soldout's CSV import and reports against DuckDB on the same data.

Generates N shipment rows as CSV (deterministic seed; dates 2020-01-01..2024-12-31, the
demo catalog's markets, products and SKUs), imports them with `soldout import shipments`
into a fresh SQLite database (after `soldout demo --no-serve` made the schema and the
catalog), and times the quarter, market-quarter, year and trend reports over HTTP. The
same CSV is imported into DuckDB (a file database, checkpointed: durable like soldout's)
and the equivalent GROUP BYs are timed there; the ratios are printed against the
targets of the issue:

  * import >= 1,000,000 rows/s, durable when the command returns, peak RSS that does not
    grow with the file (shown at N and N/10);
  * every report over the N rows at least as fast as DuckDB's query on the same data.

soldout's quarter and market reports are cross-checked against DuckDB (units, revenue per
currency, by channel, by model; the year's units; the trend's units when the route
exists): a mismatch prints MISMATCH and exits with status 1.

Usage (from anywhere; paths are relative to the repository root):

    python3 crates/soldout-bench/shipments_bench.py                 # 10,000,000 rows
    python3 crates/soldout-bench/shipments_bench.py --rows 200000   # a quick run

The CSV (about 60 bytes a row) is cached under target/shipments-bench/ (or --workdir)
keyed by rows, seed and generator version, so reruns skip generating it. Databases and
logs go to a fresh directory that is removed at the end unless --keep.

Exit status: 0 done (targets met or not: read the table), 1 a cross-check mismatch,
2 a failure (a command failed, the server did not start), 124 the global timeout.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GENERATOR_VERSION = 1
ADMIN_TOKEN = "bench-admin"
CLOCK_START = "2025-01-15T00:00:00Z"
IMPORT_TARGET_ROWS_PER_S = 1_000_000
PG_IMPORT_TARGET_ROWS_PER_S = 500_000
# Peak RSS at N counts as "not growing with the file" when within this of N/10's.
RSS_FLAT_FACTOR = 1.25
RSS_FLAT_SLACK_MIB = 8.0

# The demo catalog (crates/soldout/src/demo.rs MARKETS and MODELS): market, currency,
# a price factor from CNY; product, SKU, a list price in CNY.
MARKETS = [("CN", "CNY", 1.0), ("IN", "INR", 9.5), ("RU", "RUB", 8.7)]
SKUS = [
    ("mi-6", "MI6-6-64-BLK", 2499),
    ("mi-6", "MI6-6-64-BLU", 2499),
    ("mi-6", "MI6-6-128-BLK", 2899),
    ("mi-max-2", "MIMAX2-4-64-GLD", 1699),
    ("mi-max-2", "MIMAX2-4-128-GLD", 1999),
    ("redmi-note-4", "RN4-2-32-GRY", 899),
    ("redmi-note-4", "RN4-3-32-GLD", 1099),
    ("redmi-note-4", "RN4-4-64-BLK", 1399),
    ("redmi-4x", "R4X-2-16-GLD", 699),
    ("redmi-4x", "R4X-3-32-BLK", 899),
    ("mi-note-2", "MINOTE2-4-64-BLK", 2799),
    ("mi-note-2", "MINOTE2-6-128-SLV", 3499),
    ("mi-mix", "MIMIX-4-128-BLK", 3499),
    ("mi-mix", "MIMIX-6-256-BLK", 3999),
    ("mi-6-plus", "MI6P-6-64-BLK", 2999),
]
CHANNELS = ["flash_sale", "online", "store", "partner"]
HEADER = "date,market,channel,product,sku,units,revenue,currency"
FIRST_DAY = (2020, 1, 1)
LAST_DAY = (2024, 12, 31)

# Report requests: name, path, DuckDB equivalent (a key of duckdb_queries()).
REPORTS = [
    ("quarter 2024Q4", "/v1/reports/quarter?period=2024Q4", "quarter"),
    ("quarter 2024Q4 IN", "/v1/reports/quarter?period=2024Q4&market=IN", "quarter_in"),
    ("year 2024", "/v1/reports/year?year=2024", "year"),
    ("trend 2020Q1..2024Q4", "/v1/reports/trend?from=2020Q1&to=2024Q4", "trend"),
]


def log(msg: str = "") -> None:
    print(msg, flush=True)


def mib(kib: int | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024.0:.1f} MiB"


# --- processes: tracked so the watchdog and `finally` can end exactly what we started ---

# Process group id (each child starts its own session) -> what it is.
_children: dict[int, str] = {}
_duck_con = None
_remove_on_timeout: Path | None = None  # the run dir, unless --keep


def watchdog(seconds: float) -> threading.Timer:
    def fire() -> None:
        sys.stderr.write(f"\nshipments_bench: global timeout of {seconds:.0f}s reached; stopping\n")
        for pgid, what in list(_children.items()):
            try:
                os.killpg(pgid, signal.SIGKILL)
                sys.stderr.write(f"  killed {what} (process group {pgid})\n")
            except ProcessLookupError:
                pass
        if _duck_con is not None:
            try:
                _duck_con.interrupt()
            except Exception:
                pass
        if _remove_on_timeout is not None:
            time.sleep(0.2)
            shutil.rmtree(_remove_on_timeout, ignore_errors=True)
        sys.stderr.flush()
        os._exit(124)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    return timer


def child_env() -> dict[str, str]:
    # Every flag is passed explicitly; SOLDOUT_* from the caller's shell must not leak in.
    return {k: v for k, v in os.environ.items() if not k.startswith("SOLDOUT_")}


def gnu_time() -> str | None:
    """/usr/bin/time when it is GNU time (-f, -o), for a child's exact peak RSS."""
    path = "/usr/bin/time"
    if not os.access(path, os.X_OK):
        return None
    try:
        r = subprocess.run([path, "-f", "%M", "-o", "/dev/null", "true"], capture_output=True,
                           timeout=10)
        return path if r.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def vm_hwm_kib(pid: int) -> int | None:
    """The peak RSS of `pid`'s current address space (since its exec), or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def run_measured(cmd: list[str], logfile: Path, what: str) -> tuple[float, int, int | None]:
    """Runs `cmd` to completion: (wall seconds, exit code, peak RSS KiB of that command).

    The peak RSS is GNU time's %M when /usr/bin/time is GNU time, else the highest VmHWM
    sampled every 5 ms. Not os.wait4's ru_maxrss: Linux carries the forking process's
    high-water mark across fork and exec, so a child of this (large) Python process would
    report at least this process's RSS."""
    time_bin = gnu_time()
    rss_file = logfile.with_suffix(".rss")
    full = [time_bin, "-f", "%M", "-o", str(rss_file)] + cmd if time_bin else cmd
    peak = [0]
    done = threading.Event()
    with open(logfile, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(full, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=child_env(),
                                start_new_session=True)
        _children[proc.pid] = what
        sampler = None
        if not time_bin:
            def sample() -> None:
                while not done.wait(0.005):
                    v = vm_hwm_kib(proc.pid)
                    if v:
                        peak[0] = max(peak[0], v)
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
        try:
            code = proc.wait()
            elapsed = time.perf_counter() - started
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        finally:
            done.set()
            _children.pop(proc.pid, None)
            if sampler is not None:
                sampler.join()
    rss: int | None = peak[0] or None
    if time_bin:
        try:
            # GNU time may write "Command exited with non-zero status N" first.
            rss = int(rss_file.read_text().strip().splitlines()[-1])
        except (OSError, ValueError, IndexError):
            rss = None
    return elapsed, code, rss


def fail(msg: str, logfile: Path | None = None) -> None:
    log(f"\nFAILED: {msg}")
    if logfile is not None and logfile.exists():
        tail = logfile.read_text(errors="replace").splitlines()[-25:]
        log(f"--- last lines of {logfile} ---")
        for line in tail:
            log("  " + line)
    raise SystemExit(2)


# --- the CSV ---

def build_tables():
    """Lookup tables for a row from 38 random bits:
    bits 0-3 market, 4-7 SKU, 8-11 channel  -> PREFIX[r & 0xFFF] 'MK,channel,product,sku,'
    bits 0-7 (market, SKU) + 12-21 (units, price variant) -> TAIL 'units,revenue,CUR'
    bits 22-37 -> DATE 'YYYY-MM-DD,' (density rising over the five years: growth)."""
    import datetime

    first = datetime.date(*FIRST_DAY)
    days = (datetime.date(*LAST_DAY) - first).days + 1
    dates = []
    for i in range(1 << 16):
        d = min(days - 1, int(days * math.sqrt((i + 0.5) / (1 << 16))))
        dates.append((first + datetime.timedelta(days=d)).isoformat() + ",")

    market16 = [0] * 7 + [1] * 6 + [2] * 3  # CN, IN, RU
    channel16 = [1] * 6 + [0] * 4 + [2] * 3 + [3] * 3  # online, flash_sale, store, partner
    sku16 = list(range(len(SKUS))) + [6]  # 15 SKUs, the Redmi Note 4 3/32 twice
    assert len(market16) == len(channel16) == len(sku16) == 16

    prefix = []
    for i in range(1 << 12):
        mk, sk, ch = market16[i & 0xF], sku16[(i >> 4) & 0xF], channel16[(i >> 8) & 0xF]
        product, sku, _ = SKUS[sk]
        prefix.append(f"{MARKETS[mk][0]},{CHANNELS[ch]},{product},{sku},")

    units256 = [1 + min(49, int(50 * ((i + 0.5) / 256) ** 2)) for i in range(256)]
    discounts = [1.0, 0.97, 0.93, 0.875]
    tail = [""] * (1 << 18)
    for ms in range(256):
        mk, sk = market16[ms & 0xF], sku16[(ms >> 4) & 0xF]
        _, currency, factor = MARKETS[mk]
        list_minor = round(SKUS[sk][2] * factor) * 100
        for k in range(1024):
            units = units256[k >> 2]
            unit_minor = round(list_minor * discounts[k & 3])
            rev = units * unit_minor
            tail[ms | (k << 8)] = f"{units},{rev // 100}.{rev % 100:02d},{currency}"
    return dates, prefix, tail


def generate_csv(path: Path, tenth_path: Path, rows: int, seed: int) -> None:
    """Writes `rows` rows to `path` and its first rows//10 rows to `tenth_path`."""
    dates, prefix, tail = build_tables()
    getbits = random.Random(seed).getrandbits
    tmp, tenth_tmp = path.with_suffix(".partial"), tenth_path.with_suffix(".partial")
    chunk = 200_000
    tenth_left = rows // 10
    written = 0
    started = time.perf_counter()
    with open(tmp, "w", newline="\n") as f, open(tenth_tmp, "w", newline="\n") as g:
        f.write(HEADER + "\n")
        g.write(HEADER + "\n")
        while written < rows:
            n = min(chunk, rows - written)
            lines = [
                dates[(r >> 22) & 0xFFFF] + prefix[r & 0xFFF] + tail[(r & 0xFF) | ((r >> 4) & 0x3FF00)]
                for r in map(getbits, [38] * n)
            ]
            text = "\n".join(lines) + "\n"
            f.write(text)
            if tenth_left > 0:
                take = min(tenth_left, n)
                g.write("\n".join(lines[:take]) + "\n")
                tenth_left -= take
            written += n
            if written % 2_000_000 < chunk and rows >= 2_000_000:
                log(f"  ... {written:,} rows ({time.perf_counter() - started:.0f}s)")
        f.flush()
        os.fsync(f.fileno())
        g.flush()
        os.fsync(g.fileno())
    os.replace(tenth_tmp, tenth_path)
    os.replace(tmp, path)  # last: its presence means both files are complete


# --- soldout ---

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(db: Path | str) -> str:
    """An SQLite file's URL, or a PostgreSQL URL as it is."""
    return db if isinstance(db, str) else f"sqlite://{db}"


def database_name(db: Path | str) -> str:
    return db.rsplit("/", 1)[-1] if isinstance(db, str) else db.stem


def make_db(binary: Path, db: Path | str, workdir: Path) -> None:
    logfile = workdir / f"demo-{database_name(db)}.log"
    secs, code, _ = run_measured(
        [str(binary), "demo", "--no-serve", "--database", database_url(db),
         "--listen", "127.0.0.1:0"], logfile, "soldout demo")
    if code != 0:
        fail(f"soldout demo exited with {code}", logfile)
    log(f"  {database_name(db)}: schema and demo catalog in {secs:.2f}s")


def import_csv(binary: Path, db: Path | str, csv_path: Path, workdir: Path, what: str):
    logfile = workdir / f"import-{database_name(db)}.log"
    secs, code, rss_kib = run_measured(
        [str(binary), "import", "--database", database_url(db), "shipments", str(csv_path)],
        logfile, f"soldout import ({what})")
    if code != 0:
        fail(f"soldout import ({what}) exited with {code}", logfile)
    said = logfile.read_text(errors="replace").strip().splitlines()
    log(f"  soldout says: {said[-1] if said else '(nothing)'}")
    return secs, rss_kib


def psql(server: str, sql: str) -> None:
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", server, "-c", sql], check=True,
                   capture_output=True, env=child_env(), timeout=120)


def postgres_import(binary: Path, server: str, csv_path: Path, rows: int,
                    workdir: Path) -> float | None:
    """The N-row import into a scratch database on the PostgreSQL server `server` names
    (created with psql and dropped after); its rows/s, or None when psql or the server
    is not there."""
    name = f"soldout_shipments_bench_{os.getpid()}"
    base = server.split("?", 1)[0].rsplit("/", 1)[0]
    try:
        psql(server, f"CREATE DATABASE {name}")
    except (OSError, subprocess.SubprocessError) as e:
        log(f"  PostgreSQL import skipped: cannot create a database on {server}: {e}")
        return None
    try:
        url = f"{base}/{name}"
        make_db(binary, url, workdir)
        secs, rss = import_csv(binary, url, csv_path, workdir, f"{rows:,} rows on PostgreSQL")
        log(f"  import of {rows:,} rows into PostgreSQL: {secs:.2f}s wall"
            f" ({rows / secs:,.0f} rows/s), peak RSS {mib(rss)}")
        return rows / secs
    finally:
        psql(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def ledger_rows(db: Path) -> int | None:
    """Rows of the generated years visible to a new connection after the import returned:
    rows written one by one (sales) plus rows in the import's packed blocks."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            (single,) = con.execute(
                "SELECT count(*) FROM shipments WHERE day >= '2020-01-01'").fetchone()
            (packed,) = con.execute(
                "SELECT coalesce(sum(rows), 0) FROM shipment_blocks WHERE quarter >= '2020Q1'"
            ).fetchone()
            return int(single) + int(packed)
        finally:
            con.close()
    except sqlite3.Error as e:
        log(f"  (could not count the ledger's rows with sqlite3: {e})")
        return None


class Server:
    def __init__(self, binary: Path, db: Path, workdir: Path):
        self.port = free_port()
        self.logfile = workdir / "serve.log"
        self.out = open(self.logfile, "wb")
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--database", f"sqlite://{db}",
             "--listen", f"127.0.0.1:{self.port}", "--admin-token", ADMIN_TOKEN,
             "--clock-start", CLOCK_START],
            stdout=self.out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=child_env(), start_new_session=True)
        _children[self.proc.pid] = "soldout serve"
        self.peak_rss_kib: int | None = None
        self.conn: http.client.HTTPConnection | None = None

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                _children.pop(self.proc.pid, None)
                fail(f"soldout serve exited with {self.proc.returncode}", self.logfile)
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/healthz")
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        fail(f"soldout serve did not answer /healthz within {timeout:.0f}s", self.logfile)

    def get(self, path: str) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
            try:
                self.conn.request("GET", path, headers={
                    "Authorization": f"Bearer {ADMIN_TOKEN}", "Connection": "keep-alive"})
                r = self.conn.getresponse()
                return r.status, r.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = None  # the server closed a kept-alive connection: once more
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        if self.proc.poll() is None:
            self.peak_rss_kib = vm_hwm_kib(self.proc.pid)
            self.proc.send_signal(signal.SIGTERM)  # stops cleanly
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        _children.pop(self.proc.pid, None)
        self.out.close()


def time_requests(server: Server, path: str, reps: int, budget_s: float):
    """(cold ms, [warm ms...], the last body) or (None, status, body) when not 200."""
    t0 = time.perf_counter()
    status, body = server.get(path)
    cold = (time.perf_counter() - t0) * 1000
    if status != 200:
        return None, status, body
    times = []
    started = time.perf_counter()
    while len(times) < reps and (len(times) < 5 or time.perf_counter() - started < budget_s):
        t0 = time.perf_counter()
        status, body = server.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            return None, status, body
    return cold, times, body


def p90(xs: list[float]) -> float:
    s = sorted(xs)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


# --- DuckDB ---

def load_duckdb(repo: Path):
    try:
        import duckdb  # noqa: F401
        return duckdb
    except ImportError:
        pass
    log("  duckdb is not installed; trying pip install duckdb ...")
    base = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "duckdb"]

    def pip(cmd: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600)

    try:
        r = pip(base)
        if r.returncode != 0 and "externally-managed" in (r.stderr + r.stdout):
            r = pip(base + ["--break-system-packages"])
        if r.returncode != 0:
            venv = repo / "target" / "shipments-bench" / "venv"
            log(f"  pip install failed ({r.stderr.strip().splitlines()[-1:] or r.returncode});"
                f" trying a venv at {venv}")
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300,
                           capture_output=True)
            vpy = venv / "bin" / "python"
            r = pip([str(vpy)] + base[1:])
            if r.returncode != 0:
                raise RuntimeError(r.stderr.strip()[-500:])
            site = subprocess.run(
                [str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                capture_output=True, text=True, check=True).stdout.strip()
            sys.path.insert(0, site)
            plat = subprocess.run(
                [str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['platlib'])"],
                capture_output=True, text=True, check=True).stdout.strip()
            if plat != site:
                sys.path.insert(0, plat)
        import importlib
        importlib.invalidate_caches()
        import duckdb
        return duckdb
    except Exception as e:  # noqa: BLE001
        log(f"\n  !! DuckDB is not available ({e}); the DuckDB comparison and the"
            f" cross-check are SKIPPED.\n  !! Install it with: {sys.executable} -m pip install duckdb\n")
        return None


def q_range(first: str, end: str, market: str | None = None) -> str:
    where = f"date >= DATE '{first}' AND date < DATE '{end}'"
    if market:
        where += f" AND market = '{market}'"
    return where


def duckdb_queries() -> dict[str, list[str]]:
    # Revenue in minor units: every demo currency (CNY, INR, RUB) has 2 decimals.
    def quarter(market: str | None) -> list[str]:
        w = q_range("2024-10-01", "2025-01-01", market)
        money = "sum(units)::BIGINT AS units, (sum(revenue) * 100)::HUGEINT AS revenue"
        return [
            f"SELECT currency, {money} FROM shipments WHERE {w} GROUP BY currency ORDER BY 1",
            f"SELECT channel, currency, {money} FROM shipments WHERE {w} GROUP BY ALL ORDER BY 1, 2",
            f"SELECT product, currency, {money} FROM shipments WHERE {w} GROUP BY ALL ORDER BY 1, 2",
        ]

    return {
        "quarter": quarter(None),
        "quarter_in": quarter("IN"),
        "year": [
            "SELECT year(date) AS y, quarter(date) AS q, sum(units)::BIGINT AS units FROM shipments"
            f" WHERE {q_range('2023-01-01', '2025-01-01')} GROUP BY ALL ORDER BY 1, 2"],
        "trend": [
            "SELECT year(date) AS y, quarter(date) AS q, currency, sum(units)::BIGINT AS units,"
            " (sum(revenue) * 100)::HUGEINT AS revenue FROM shipments"
            f" WHERE {q_range('2020-01-01', '2025-01-01')} GROUP BY ALL ORDER BY 1, 2, 3"],
    }


def duckdb_bench(duckdb, csv_path: Path, rows: int, workdir: Path, reps: int):
    global _duck_con
    path = workdir / "duck.db"
    con = duckdb.connect(str(path))
    _duck_con = con
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    log(f"  DuckDB {duckdb.__version__}, threads={threads}, file database {path.name}")
    types = ("{'date': 'DATE', 'market': 'VARCHAR', 'channel': 'VARCHAR', 'product': 'VARCHAR',"
             " 'sku': 'VARCHAR', 'units': 'INTEGER', 'revenue': 'DECIMAL(18,2)',"
             " 'currency': 'VARCHAR'}")
    csv_sql = str(csv_path).replace("'", "''")
    t0 = time.perf_counter()
    con.execute(f"CREATE TABLE shipments AS SELECT * FROM read_csv('{csv_sql}', header = true,"
                f" types = {types})")
    con.execute("CHECKPOINT")
    import_s = time.perf_counter() - t0
    (n,) = con.execute("SELECT count(*) FROM shipments").fetchone()
    if n != rows:
        fail(f"DuckDB read {n:,} rows from the CSV, expected {rows:,}")
    log(f"  DuckDB import: {rows:,} rows in {import_s:.2f}s ({rows / import_s:,.0f} rows/s)")

    timings: dict[str, list[float]] = {}
    results: dict[str, list[list[tuple]]] = {}
    for key, queries in duckdb_queries().items():
        results[key] = [con.execute(q).fetchall() for q in queries]  # warm-up, kept
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for q in queries:
                con.execute(q).fetchall()
            times.append((time.perf_counter() - t0) * 1000)
        timings[key] = times
        log(f"  DuckDB {key:<11} median {statistics.median(times):8.2f} ms over {reps} runs"
            f" ({len(queries)} quer{'y' if len(queries) == 1 else 'ies'})")
    con.close()
    _duck_con = None
    return import_s, timings, results


# --- cross-check ---

def money_map(rows, key_index=None):
    """{key: (units, {currency: minor})} from (key?, currency, units, revenue) rows."""
    out: dict = {}
    for row in rows:
        key = row[0] if key_index is not None else None
        cur, units, rev = row[-3], row[-2], row[-1]
        u, r = out.get(key, (0, {}))
        r = dict(r)
        r[cur] = r.get(cur, 0) + int(rev)
        out[key] = (u + int(units), r)
    return out


def check_quarter(label: str, report: dict, duck_rows) -> list[str]:
    problems = []
    total = money_map(duck_rows[0]).get(None, (0, {}))
    if report.get("units") != total[0]:
        problems.append(f"{label}: units soldout {report.get('units')} vs DuckDB {total[0]}")
    if {k: int(v) for k, v in report.get("revenue", {}).items()} != total[1]:
        problems.append(f"{label}: revenue soldout {report.get('revenue')} vs DuckDB {total[1]}")
    for field, rows in (("by_channel", duck_rows[1]), ("by_model", duck_rows[2])):
        want = money_map(rows, key_index=0)
        got = {s["name"]: (s["units"], {k: int(v) for k, v in s["revenue"].items()})
               for s in report.get(field, [])}
        if got != want:
            problems.append(f"{label}: {field} soldout {got} vs DuckDB {want}")
    return problems


def check_year(report: dict, duck_rows) -> list[str]:
    want = sum(int(u) for y, q, u in duck_rows[0] if y == 2024)
    if report.get("units") != want:
        return [f"year 2024: units soldout {report.get('units')} vs DuckDB {want}"
                f" (complete quarters {report.get('complete_quarters')})"]
    return []


def check_trend(report: dict, duck_rows) -> list[str]:
    want: dict[str, tuple[int, dict]] = {}
    for y, q, cur, units, rev in duck_rows[0]:
        u, r = want.get(f"{y}Q{q}", (0, {}))
        want[f"{y}Q{q}"] = (u + int(units), {**r, cur: r.get(cur, 0) + int(rev)})
    problems = []
    got = {q.get("period"): q for q in report.get("quarters", [])}
    for period, (units, revenue) in want.items():
        q = got.get(period)
        if q is None:
            problems.append(f"trend: {period} missing")
            continue
        if q.get("units") != units:
            problems.append(f"trend {period}: units soldout {q.get('units')} vs DuckDB {units}")
        if isinstance(q.get("revenue"), dict) and \
                {k: int(v) for k, v in q["revenue"].items()} != revenue:
            problems.append(f"trend {period}: revenue soldout {q['revenue']} vs DuckDB {revenue}")
    return problems


# --- main ---

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000, help="rows to generate (10,000,000)")
    ap.add_argument("--seed", type=int, default=42, help="generator seed (42)")
    ap.add_argument("--binary", default="target/release/soldout",
                    help="soldout binary, relative to the repo root (target/release/soldout)")
    ap.add_argument("--workdir", help="directory for the CSV cache, databases and logs"
                    " (default: a fresh target/shipments-bench/run-*; CSV cached in"
                    " target/shipments-bench/)")
    ap.add_argument("--keep", action="store_true", help="keep the databases and logs")
    ap.add_argument("--postgres", default=os.environ.get(
                        "SOLDOUT_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/test"),
                    help="PostgreSQL server for the same import on a scratch database"
                         " ('' skips it; default $SOLDOUT_BENCH_POSTGRES or the local test"
                         " server)")
    ap.add_argument("--reps", type=int, default=30,
                    help="timed requests per report (at least 5; stops after 20s) (30)")
    ap.add_argument("--duckdb-reps", type=int, default=7, help="timed runs per DuckDB query (7)")
    ap.add_argument("--timeout", type=float, default=1200, help="global timeout, seconds (1200)")
    args = ap.parse_args()
    if args.rows < 10:
        ap.error("--rows must be at least 10")

    watchdog(args.timeout)

    def on_term(signum, frame):  # so `finally` stops the server and removes the run dir
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    began = time.perf_counter()
    bench_root = REPO / "target" / "shipments-bench"
    binary_src = Path(args.binary) if os.path.isabs(args.binary) else REPO / args.binary
    if not os.access(binary_src, os.X_OK):
        fail(f"no executable soldout at {binary_src} (build it: cargo build --release)")
    if args.workdir:
        workdir = Path(args.workdir).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        csv_dir = workdir
        run_dir = workdir / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    else:
        csv_dir = bench_root
        run_dir = bench_root / f"run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    csv_dir.mkdir(parents=True, exist_ok=True)
    run_dir.mkdir(parents=True)
    global _remove_on_timeout
    if not args.keep:
        _remove_on_timeout = run_dir
    # A copy, so a rebuild during the run cannot swap the binary between steps.
    binary = run_dir / "soldout"
    shutil.copy2(binary_src, binary)
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                             env=child_env()).stdout.strip()
    mtime = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(binary_src.stat().st_mtime))

    log(f"== soldout shipments benchmark: {args.rows:,} rows, seed {args.seed},"
        f" {os.cpu_count()} cores ==")
    log(f"  binary  {binary_src} ({version or '?'}, built {mtime}), run as a copy in the run dir")
    log(f"  run dir {run_dir}{' (kept)' if args.keep else ' (removed at the end; --keep keeps it)'}")

    server: Server | None = None
    exit_code = 0
    try:
        # 1. The CSV.
        stem = f"shipments-{args.rows}-s{args.seed}-g{GENERATOR_VERSION}"
        csv_path, tenth_path = csv_dir / f"{stem}.csv", csv_dir / f"{stem}.tenth.csv"
        tenth_rows = args.rows // 10
        if csv_path.exists() and tenth_path.exists():
            log(f"\n[1] CSV: cached {csv_path} ({csv_path.stat().st_size / 2**20:,.0f} MiB)")
        else:
            log(f"\n[1] CSV: generating {args.rows:,} rows (+ the first {tenth_rows:,} as the N/10 file)")
            t0 = time.perf_counter()
            generate_csv(csv_path, tenth_path, args.rows, args.seed)
            secs = time.perf_counter() - t0
            log(f"  {csv_path} ({csv_path.stat().st_size / 2**20:,.0f} MiB) in {secs:.1f}s"
                f" ({args.rows / secs:,.0f} rows/s)")

        # 2. Fresh databases and the imports.
        log("\n[2] soldout import (peak RSS by "
            + ("GNU time %M)" if gnu_time() else "sampling /proc/PID/status VmHWM every 5 ms)"))
        db, db_tenth = run_dir / "bench.db", run_dir / "bench-tenth.db"
        make_db(binary, db, run_dir)
        make_db(binary, db_tenth, run_dir)
        imp_s, rss_full = import_csv(binary, db, csv_path, run_dir, f"{args.rows:,} rows")
        log(f"  import of {args.rows:,} rows: {imp_s:.2f}s wall ({args.rows / imp_s:,.0f} rows/s),"
            f" peak RSS {mib(rss_full)}")
        imp_tenth_s, rss_tenth = import_csv(binary, db_tenth, tenth_path, run_dir,
                                            f"{tenth_rows:,} rows")
        log(f"  import of {tenth_rows:,} rows: {imp_tenth_s:.2f}s wall"
            f" ({tenth_rows / imp_tenth_s:,.0f} rows/s), peak RSS {mib(rss_tenth)}")
        counted = ledger_rows(db)
        durable_ok = counted is None or counted == args.rows
        if counted is not None:
            log(f"  a new connection after the import returned sees {counted:,} rows of"
                f" 2020..2024 in the ledger: {'ok' if durable_ok else 'WRONG, expected %d' % args.rows}")
        db_mib = sum(p.stat().st_size for p in run_dir.glob("bench.db*")) / 2**20
        log(f"  database files (with the demo's data): {db_mib:,.0f} MiB")

        # 2b. The same import into PostgreSQL, on a scratch database made with psql.
        pg_rps = None
        if args.postgres:
            pg_rps = postgres_import(binary, args.postgres, csv_path, args.rows, run_dir)

        # 3. Reports over HTTP.
        log(f"\n[3] soldout reports (HTTP, keep-alive, clock {CLOCK_START})")
        server = Server(binary, db, run_dir)
        server.wait_healthy()
        soldout_times: dict[str, tuple[float, list[float]] | None] = {}
        bodies: dict[str, dict] = {}
        for name, path, key in REPORTS:
            cold, times, body = time_requests(server, path, args.reps, 20.0)
            if cold is None:
                status = times
                if key == "trend" and status == 404:
                    log(f"  trend: not available (GET {path} answered 404)")
                else:
                    log(f"  {name}: GET {path} answered {status}: {body[:300]!r}")
                soldout_times[key] = None
                continue
            soldout_times[key] = (cold, times)
            bodies[key] = json.loads(body)
            log(f"  {name:<22} first {cold:8.2f} ms, median {statistics.median(times):8.2f} ms,"
                f" p90 {p90(times):8.2f} ms over {len(times)} requests")
        server.stop()
        log(f"  server peak RSS {mib(server.peak_rss_kib)}")
        server = None

        # 4. DuckDB.
        log("\n[4] DuckDB")
        duckdb = load_duckdb(REPO)
        duck = None
        if duckdb is not None:
            duck = duckdb_bench(duckdb, csv_path, args.rows, run_dir, args.duckdb_reps)

        # 5. Cross-check.
        problems: list[str] = []
        checked: list[str] = []
        if duck is not None:
            results = duck[2]
            for key, label in (("quarter", "quarter 2024Q4"), ("quarter_in", "quarter 2024Q4 IN")):
                if key in bodies:
                    problems += check_quarter(label, bodies[key], results[key])
                    checked.append(label)
            if "year" in bodies:
                problems += check_year(bodies["year"], results["year"])
                checked.append("year 2024")
            if "trend" in bodies:
                problems += check_trend(bodies["trend"], results["trend"])
                checked.append("trend")
        if not durable_ok:
            problems.append(f"ledger holds {counted:,} rows of 2020..2024 after the import,"
                            f" expected {args.rows:,}")

        # 6. The table.
        line = "-" * 96
        log(f"\n{line}\nRESULTS  {args.rows:,} rows, seed {args.seed}, {os.cpu_count()} cores,"
            f" {time.perf_counter() - began:.0f}s in all\n{line}")
        sold_rps = args.rows / imp_s
        verdict = "meets" if sold_rps >= IMPORT_TARGET_ROWS_PER_S else "MISSES"
        if duck is not None:
            duck_rps = args.rows / duck[0]
            log(f"import rows/s       soldout {sold_rps:>13,.0f}   DuckDB {duck_rps:>13,.0f}"
                f"   soldout/DuckDB {sold_rps / duck_rps:6.3f}")
        else:
            log(f"import rows/s       soldout {sold_rps:>13,.0f}   DuckDB       skipped")
        if pg_rps is not None:
            pg_verdict = "meets" if pg_rps >= PG_IMPORT_TARGET_ROWS_PER_S else "MISSES"
            duck_part = (f"   on PostgreSQL/DuckDB {pg_rps / duck_rps:6.3f}"
                         if duck is not None else "")
            log(f"  on PostgreSQL     soldout {pg_rps:>13,.0f}   on PostgreSQL/on SQLite"
                f" {pg_rps / sold_rps:6.3f}{duck_part}")
            log(f"                    ({pg_verdict} the PostgreSQL target of >="
                f" {PG_IMPORT_TARGET_ROWS_PER_S:,} rows/s)")
        log(f"                    ({verdict} the target of >= {IMPORT_TARGET_ROWS_PER_S:,} rows/s;"
            f" wall clock of the command, durable when it returns)")
        if rss_full is not None and rss_tenth is not None:
            flat = rss_full / 1024 <= rss_tenth / 1024 * RSS_FLAT_FACTOR + RSS_FLAT_SLACK_MIB
            log(f"import peak RSS     N={args.rows:,}: {mib(rss_full)}   N/10={tenth_rows:,}:"
                f" {mib(rss_tenth)}   N/(N/10) {rss_full / max(rss_tenth, 1):.2f}")
            log(f"                    ({'meets' if flat else 'MISSES'} the target: memory does not"
                f" grow with the file, i.e. at N <= {RSS_FLAT_FACTOR}x N/10's"
                f" + {RSS_FLAT_SLACK_MIB:.0f} MiB)")
            if tenth_rows < 500_000:
                log("                    (N/10 is small: the import may not reach its steady-state"
                    " memory there; judge at 10,000,000 rows)")
        else:
            log(f"import peak RSS     N: {mib(rss_full)}   N/10: {mib(rss_tenth)}   (not measured)")
        log(f"\n{'report':<24}{'soldout median':>15}{'p90':>10}{'first':>10}"
            f"{'DuckDB median':>15}{'DuckDB/soldout':>16}")
        for name, path, key in REPORTS:
            st = soldout_times.get(key)
            dk = statistics.median(duck[1][key]) if duck is not None else None
            s_med = f"{statistics.median(st[1]):.2f} ms" if st else "n/a"
            s_p90 = f"{p90(st[1]):.2f} ms" if st else ""
            s_first = f"{st[0]:.2f} ms" if st else ""
            d_med = f"{dk:.2f} ms" if dk is not None else "skipped"
            if st and dk is not None:
                ratio = dk / statistics.median(st[1])
                tail = f"{ratio:10.3f}  ({'meets' if ratio >= 1.0 else 'MISSES'} the target of >= 1.0)"
            else:
                tail = "       n/a  (" + ("not available" if not st else "no DuckDB") + ")"
            log(f"{name:<24}{s_med:>15}{s_p90:>10}{s_first:>10}{d_med:>15}{tail:>16}")
        log("  DuckDB/soldout >= 1.0 means soldout is at least as fast. soldout's time is an HTTP"
            " round trip\n  (keep-alive, JSON); DuckDB's is the in-process GROUP BYs"
            " (quarter: totals + by channel + by model).")
        log(line)
        if duck is None:
            log("CROSS-CHECK: SKIPPED (no DuckDB)")
        elif problems:
            log("CROSS-CHECK: !!! MISMATCH !!!")
            for p in problems:
                log(f"  {p[:2000]}")
            exit_code = 1
        else:
            log(f"CROSS-CHECK: MATCH (soldout = DuckDB for {', '.join(checked)})")
        if problems and duck is None:
            for p in problems:
                log(f"  !!! {p}")
            exit_code = 1
        log(line)
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            log(f"kept {run_dir}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    return exit_code


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as e:
        log(f"\ninterrupted ({e or 'Ctrl-C'}); the server is stopped and the run dir removed"
            " (unless --keep)")
        sys.exit(130)
