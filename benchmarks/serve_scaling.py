"""`pbt-track serve` of 64 policies x 10,000 iterations: first load, an update, and the server's memory, in one run.

    python -m benchmarks.serve_scaling [UPDATES]     # default 10

The record is `plot_scaling`'s: a print-only launch whose history is written
straight into pbt_iterations (each policy restarts once as a new life and
takes another's weights every 500 iterations). A real `pbt-track serve`
process serves it. Measured:

- start: from launching the server to its printed URL (it has read the record);
- first load: in headless Chromium (when installed), the server's time for
  the page (Server-Timing) and the navigation's duration up to its load event;
  then a second load, the charts as drawn for the first (without Chromium,
  that request is the first load);
- an update: each round writes the next iteration of all 64 policies (as a
  sync copies them), then a page's poll picks them up; the server's time for
  that poll, which reads the new rows and answers with them;
- memory: the server's peak resident memory (VmHWM) after all of it.
"""

from __future__ import annotations

import gzip
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.common import PBT_TRACK, record_population
from benchmarks.plot_scaling import ITERATIONS, POLICIES, RESTART_AT, fill_history
from pbt_tracker.store import open_store
from pbt_tracker.store.history import insert_iterations

FIRST_LOAD_SECONDS = 2.0
UPDATE_MS = 100.0
SERVER_MB = 150.0


def fetch(url: str) -> tuple[float, float, int, bytes]:
    """(server's milliseconds, client's milliseconds, bytes sent, body) of one GET, compressed as a browser takes it."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        body = response.read()
        timing = response.headers["Server-Timing"]
        compressed = response.headers.get("Content-Encoding") == "gzip"
    client = (time.perf_counter() - start) * 1000
    return float(timing.split("dur=")[1]), client, len(body), gzip.decompress(body) if compressed else body


def write_next_iterations(work: Path, step: int) -> None:
    """One more iteration of every policy's second life, as sync would copy it from the workspaces."""
    store = open_store(work)
    try:
        with store.read() as connection:
            experiments = connection.execute("SELECT id, position FROM experiments ORDER BY id").fetchall()
        iteration = ITERATIONS - RESTART_AT + step
        moment = datetime(2027, 1, 1) + timedelta(seconds=ITERATIONS + step)
        rows = [{"experiment_id": experiment_id, "policy": policy, "iteration": iteration,
                 "true_objective": policy + iteration / 100, "frame": iteration * 65_536,
                 "experiment_name": f"bench_{policy}_life2", "params": {"lr": 1e-3},
                 "checkpoint": f"/ws/{policy:03d}/{iteration:06d}.pth", "file_key": f"{policy:03d}/{iteration:06d}.yaml@u",
                 "file_mtime": moment, "observed_at": datetime.now()} for experiment_id, policy in experiments]
        with store.write() as connection:
            insert_iterations(connection, rows)
    finally:
        store.close()


def browser_load(url: str, scratch: Path) -> tuple[float, float] | None:
    """The server's milliseconds (from Server-Timing) and Chromium's from navigation start to the load event, of
    the page's first load in headless Chromium; None without Chromium."""
    from tests.browser import Browser, chromium

    if chromium() is None:
        return None
    browser = Browser(scratch / "profile")
    try:
        page = browser.open(url)
        page.wait_for("document.readyState === 'complete' && document.body.dataset.page === 'population'", 120)
        server, load = page.evaluate("(entry => [entry.serverTiming[0].duration, entry.loadEventEnd])"
                                     "(performance.getEntriesByType('navigation')[0])")
        return server, load
    finally:
        browser.close()


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM in /proc: this benchmark reads the server's memory from Linux's /proc")


def ratio(value: float, target: float) -> str:
    return f"ratio {value / target:.2f} of the target {target:g} ({'met' if value <= target else 'NOT met'})"


def main(updates: int = 10) -> None:
    scratch = Path(tempfile.mkdtemp(prefix="pbt-track-bench-"))
    server = None
    try:
        work = record_population(scratch, POLICIES)
        rows = fill_history(work)
        began = time.perf_counter()
        server = subprocess.Popen([PBT_TRACK, "serve", "--workdir", str(work), "--port", "0"],
                                  stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None
        url = server.stdout.readline().rsplit(" ", 1)[1].strip()
        start = time.perf_counter() - began
        in_chromium = browser_load(url, scratch)  # the first load, when Chromium is here: nothing drawn yet
        served, waited, sent, body = fetch(url)  # else the first; a page drawn already is served from its copy
        for name in ("static/page.js", "static/page.css"):
            fetch(url + name)
        cursor = body.split(b'data-cursor="', 1)[1].split(b'"', 1)[0].decode()
        polls = []
        for step in range(1, updates + 1):
            write_next_iterations(work, step)
            time.sleep(1.1)  # the server looks at the record at most once a second
            server_ms, _client_ms, _sent, answer = fetch(f"{url}updates?cursor={cursor}")
            changed = json.loads(answer)
            assert changed["charts"]["iteration"]["grow"], "the poll did not see the new iterations"
            cursor = changed["cursor"]
            polls.append(server_ms)
        memory = peak_mb(server.pid)
    finally:
        if server is not None:
            server.terminate()
            server.wait()
        shutil.rmtree(scratch, ignore_errors=True)
    update = statistics.median(polls)
    print(f"pbt-track serve of {POLICIES} policies x {ITERATIONS:,} iterations ({rows:,} rows):")
    print(f"  start, reading the record: {start:.2f} s")
    if in_chromium is not None:
        server_ms, load_ms = in_chromium
        print(f"  first load in headless Chromium ({len(body) / 1e6:.1f} MB, {sent / 1e6:.1f} MB gzipped): "
              f"server {server_ms / 1000:.2f} s, to the load event {load_ms / 1000:.2f} s; "
              f"{ratio(load_ms / 1000, FIRST_LOAD_SECONDS)}")
        print(f"  a second load, charts as drawn for the first: server {served / 1000:.2f} s, "
              f"client {waited / 1000:.2f} s")
    else:
        print(f"  first load ({len(body) / 1e6:.1f} MB, {sent / 1e6:.1f} MB gzipped; no Chromium here): server "
              f"{served / 1000:.2f} s, client {waited / 1000:.2f} s; {ratio(waited / 1000, FIRST_LOAD_SECONDS)}")
    print(f"  an update (64 new iterations), server time of the poll: median {update:.1f} ms, "
          f"max {max(polls):.1f} ms over {len(polls)}; {ratio(update, UPDATE_MS)}")
    print(f"  server's peak memory: {memory:.0f} MB; {ratio(memory, SERVER_MB)}")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:2]))
