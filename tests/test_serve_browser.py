"""`pbt-track serve` in a real browser: headless Chromium on the page of the README's toy demo.

The record is the demo's, made as the README makes it: four toy policies as
local processes, policy 2 crashing in its third iteration, and `pbt-track
watch --resume-failed` resuming it. What the tests read is what a person
sees: text in the page, marks that take up room on the screen. One page stays
open while a new iteration is written and synced, and the page shows it
without being loaded again.

Outside CI these tests skip when Chromium is missing; in CI (CI=true) or with
PBT_TRACK_REQUIRE_CHROMIUM=1 (scripts/test.sh sets it, and installs Chromium)
they fail instead: skipping is not passing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.browser import Browser, Page, chromium
from tests.conftest import query
from tests.test_history import write_iteration

pytestmark = pytest.mark.slow  # the demo runs four policies to their end, one of them twice

PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")


def pbt_track(cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PBT_TRACK, *argv], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's workdir once the keeper has resumed policy 2 and every policy has ended."""
    root = tmp_path_factory.mktemp("demo")
    launched = pbt_track(root, "submit", "--run", "pbt_tracker.examples.toy_pbt", "--workdir", "demo")
    assert launched.returncode == 1, launched.stdout + launched.stderr
    watched = pbt_track(root, "watch", "--workdir", "demo", "--resume-failed", "--interval", "1")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    return root / "demo"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if chromium() is None:
        message = "chromium is not installed (apt-get install chromium; scripts/test.sh does)"
        if os.environ.get("CI", "").lower() == "true" or os.environ.get("PBT_TRACK_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"the browser tests must run here, but {message}", pytrace=False)
        pytest.skip(message)
    started = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield started
    finally:
        started.close()


def start_serving(workdir: Path, *argv: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([PBT_TRACK, "serve", "--workdir", str(workdir), "--port", "0", *argv],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, process.stdout.readline().rsplit(" ", 1)[1].strip()


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0


@pytest.fixture(scope="module")
def url(demo: Path) -> Iterator[str]:
    process, address = start_serving(demo)
    try:
        yield address
    finally:
        stop(process)


def opened(browser: Browser, address: str, page: str) -> Page:
    tab = browser.open(address)
    tab.wait_for(f"document.readyState === 'complete' && document.body.dataset.page === '{page}'")
    return tab


TABLE = """Array.from(document.querySelectorAll('#population tbody tr')).map(row =>
    Array.from(row.cells).slice(0, 9).map(cell => cell.textContent.trim()).concat([row.className]))"""
MARKS = """Array.from(document.querySelectorAll('#chart-iteration g.mark')).map(mark => [mark.getAttribute('class'),
    mark.querySelector('title').textContent, mark.getBoundingClientRect().width > 0])"""


def demo_ids(demo: Path) -> dict[str, int]:
    return dict(query(demo / "pbt_tracker.db", "SELECT name, id FROM experiments"))


def test_the_page_shows_the_four_policies_the_best_and_what_happened_to_each(demo: Path, url: str, browser: Browser):
    page = opened(browser, url, "population")
    try:
        rows = page.evaluate(TABLE)
        report = json.loads(pbt_track(demo, "report", "--workdir", str(demo), "--pbt", "--no-sync", "--format",
                                      "json").stdout)
        best = max(report, key=lambda row: row["pbt_objective"])
        assert sorted((row[1], row[2], row[3], row[7]) for row in rows) == [
            ("00_toy_pbt", "COMPLETED", "1", "10"), ("01_toy_pbt", "COMPLETED", "1", "10"),
            ("02_toy_pbt", "COMPLETED", "2", "10"), ("03_toy_pbt", "COMPLETED", "1", "10")]
        assert [row[0] for row in rows if row[-1] == "best"] == [f"{best['pbt_policy']} \u2605 best"]
        assert rows[0][1] == best["experiment"]  # the best first, as report --pbt orders them
        marks = page.evaluate(MARKS)
        assert all(shown for _kind, _title, shown in marks)  # every mark takes up room on the screen
        titles = {(kind, title) for kind, title, _shown in marks}
        assert {("mark crash", "policy 2: attempt 1 ended FAILED (exit 3)"),
                ("mark attempt", "policy 2 resumed as attempt 2")} <= titles
        events = query(demo / "pbt_tracker.db", "SELECT DISTINCT policy, donor, iteration FROM pbt_events "
                                                 "WHERE donor <> policy ORDER BY policy, iteration")
        assert events, "the demo's policies took each other's weights"
        assert {title for kind, title in titles if kind == "mark replacement"} == {
            f"policy {policy} took policy {donor}'s weights after iteration {iteration}"
            for policy, donor, iteration in events}
        assert page.evaluate("document.querySelectorAll('#lineage g.handover').length") == len(events)
        lengths = page.evaluate("Array.from(document.querySelectorAll('#chart-time path.line'))"
                                ".map(path => path.getTotalLength() > 0)")
        assert len(lengths) >= 4 and all(lengths)  # a line per life of each policy, each drawn
        assert "keeper resume 02_toy_pbt attempt 1: attempt 1 ended FAILED" in page.evaluate(
            "document.getElementById('feed').textContent")
    finally:
        page.close()


def test_an_experiment_page_shows_its_attempts_and_follows_its_log(demo: Path, url: str, browser: Browser):
    experiment = demo_ids(demo)["02_toy_pbt"]
    page = opened(browser, f"{url}experiment?w=0&id={experiment}", "experiment")
    try:
        attempts = page.evaluate("Array.from(document.querySelectorAll('#attempts tbody tr')).map(row =>"
                                 " Array.from(row.cells).slice(0, 4).map(cell => cell.textContent))")
        jobs = query(demo / "pbt_tracker.db", "SELECT job_id FROM submissions WHERE experiment_id = ? ORDER BY attempt",
                     experiment)
        assert attempts == [["1", jobs[0][0], "FAILED", "3"], ["2", jobs[1][0], "COMPLETED", "0"]]
        log = page.evaluate("document.getElementById('log').textContent")
        assert "PBT init. Env frames: 2000, pbt_iteration: 2, checkpoint " in log
        with (demo / "02_toy_pbt.2.log").open("a") as handle:
            handle.write("a line written after the page loaded <b>not bold</b>\n")
        page.wait_for("document.getElementById('log').textContent"
                      ".endsWith('a line written after the page loaded <b>not bold</b>\\n')")
        assert page.evaluate("document.querySelectorAll('#log b').length") == 0  # text, never markup
    finally:
        page.close()


def test_a_new_iteration_appears_without_a_reload_once_it_is_synced(demo: Path, url: str, browser: Browser):
    page = opened(browser, url, "population")
    try:
        page.evaluate("window.loadedOnce = 'this page'")
        policy_0 = demo_ids(demo)["00_toy_pbt"]
        workspace = demo.parent / "train_dir" / "toy_pbt" / "toy_pbt_" / "runs" / "workspace_toy_pbt" / "000"
        life = yaml.safe_load((workspace / "000010.yaml").read_text())["experiment_name"]
        write_iteration(workspace, 11, life, 123.5, int(time.time()))
        assert pbt_track(demo, "sync", "--workdir", str(demo)).returncode == 0
        row = page.wait_for(f"""(() => {{ const row = document.querySelector('#population tr[data-experiment="{policy_0}"]');
            return row && row.cells[7].textContent === '11' && Array.from(row.cells).map(cell => cell.textContent.trim())
                .concat([row.className]); }})()""")
        assert (row[0], row[7], row[8], row[-1]) == ("0 \u2605 best", "11", "123.5", "best")
        assert page.evaluate(f"document.getElementById('iteration-{policy_0}-1').getAttribute('d')").endswith(
            "L11 123.5")
        assert page.evaluate("window.loadedOnce") == "this page"  # the same page: it was never loaded again
        assert int(page.evaluate("document.body.dataset.updates")) >= 1
    finally:
        page.close()


def test_with_a_token_the_page_and_its_polls_carry_it(demo: Path, browser: Browser):
    process, address = start_serving(demo, "--token")
    try:
        page = opened(browser, address, "population")
        try:
            assert page.wait_for("document.getElementById('page-state').textContent.startsWith('Up to date')")
        finally:
            page.close()
    finally:
        stop(process)
