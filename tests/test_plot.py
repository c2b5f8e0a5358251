"""`pbt-track plot` on a record set by hand: what the picture holds, the files it writes, and what it refuses.

The record is a print-only launch of two policies whose jobs are then written
as sync would have recorded them (job ids, start and end times, a crash, a
second attempt), with the keeper's decisions about them, iteration files and
a log that a policy's replacement is read from.
"""

from __future__ import annotations

import shlex
import sqlite3
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from pbt_tracker.pbt.history import copy_history
from pbt_tracker.plot.draw import MARK_LEGEND, draw
from pbt_tracker.plot.record import plot_data_of
from pbt_tracker.store import open_store
from pbt_tracker.store.selection import Selection
from tests.conftest import query
from tests.test_history import synced_workspace_launch, write_iteration

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
START = 1_800_000_000  # the files' times, in seconds since the epoch (2027-01-15 08:00:00 UTC)

SYNCED = """
UPDATE submissions SET state='COMPLETED', job_id='7600', started_at='2027-01-15 08:00:00' WHERE id=1;
UPDATE submissions SET state='FAILED', job_id='7601', started_at='2027-01-15 08:00:00',
    ended_at='2027-01-15 08:00:30' WHERE id=2;
INSERT INTO submissions (experiment_id, script_id, attempt, argv, log_path, state, job_id, started_at, intended_at,
    updated_at)
SELECT experiment_id, script_id, 2, argv, log_path, 'COMPLETED', '7602', '2027-01-15 08:01:00', intended_at, updated_at
FROM submissions WHERE id=2;
INSERT INTO keeper_decisions (decided_at, keeper, experiment_id, submission_id, action, reason) VALUES
    ('2027-01-15 08:00:45', 'k', 2, 2, 'resume', 'attempt 1 ended FAILED; resumed as attempt 2'),
    ('2027-01-15 08:00:46', 'k', 2, 2, 'event-failed', 'the --on-event hook exited 1');
"""
# Policy 0 took policy 1's weights after its iteration 2; the first restart (its own weights) is no replacement.
POLICY_0_LOG = """Policy 0: New pbt iteration 1!
Policy 0: Preparing to restart the process with mutated parameters! Checkpoint /ws/000/000001.pth
Policy 0: New pbt iteration 2!
Replacing underperforming policy 0 with 1
Policy 0: Preparing to restart the process with mutated parameters! Checkpoint /ws/000/000002.pth
"""


@pytest.fixture
def work(tmp_path: Path, in_repo: Path) -> Path:
    """Policy 0: iterations 1-4, then started over (a new life) for 1-2. Policy 1: iterations 1-2, crashed, then 3-5."""
    work = synced_workspace_launch(tmp_path, SYNCED)
    [(cmd, log_pattern)] = query(work / "pbt_tracker.db", "SELECT e.cmd, s.log_path FROM experiments AS e JOIN "
                                 "submissions AS s ON s.experiment_id = e.id WHERE s.id = 1")
    Path(log_pattern.replace("%j", "7600")).write_text(POLICY_0_LOG)
    workspace = Path(shlex.split(cmd)[-1].partition("=")[2]) / "runs" / "ws"
    for iteration in range(1, 5):
        write_iteration(workspace / "000", iteration, "life_a", 10.0 * iteration, START + iteration)
    store = open_store(work)
    try:
        copy_history(store)  # as a sync would have, before the new life wrote over iterations 1 and 2
    finally:
        store.close()
    for iteration in (1, 2):
        write_iteration(workspace / "000", iteration, "life_b", 1.0 + iteration, START + 100 + iteration)
    for iteration, second in [(1, 10), (2, 20), (3, 70), (4, 80), (5, 90)]:  # attempt 2 started at second 60
        write_iteration(workspace / "001", iteration, "life_c", 100.0 + iteration, START + second)
    write_iteration(workspace / "best0", 5, "life_c", 105.0, START + 91, "toy_best_obj_105_iter_0005_policy001_frame500.yaml")
    return work


def plot(work: Path, *argv: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["plot", "--workdir", str(work), "--no-sync", *argv])
    return result.exit_code, result.output


def test_the_figure_draws_each_life_of_each_policy_and_marks_restart_replacement_and_attempt(work: Path) -> None:
    store = open_store(work)
    try:
        copy_history(store)
        figure = draw(plot_data_of(store, Selection(), "iteration"))
    finally:
        store.close()
    [axes] = figure.axes
    lines = {line.get_gid(): (line.get_label(), list(line.get_xdata()), list(line.get_ydata())) for line in axes.get_lines()}
    assert lines == {
        "policy 0 life 1": ("policy 0", [1, 2, 3, 4], [10.0, 20.0, 30.0, 40.0]),
        "policy 0 life 2": ("policy 0", [1, 2], [2.0, 3.0]),
        "policy 1 life 1": ("policy 1", [1, 2, 3, 4, 5], [101.0, 102.0, 103.0, 104.0, 105.0]),  # not the best0 copy
        "replacement": (MARK_LEGEND["replacement"], [2], [20.0]),
        "restart": (MARK_LEGEND["restart"], [1], [2.0]),
        "attempt": (MARK_LEGEND["attempt"], [3], [103.0]),
        "crash": (MARK_LEGEND["crash"], [2], [102.0]),  # attempt 1 ended at second 30, after iteration 2
        "keeper": (MARK_LEGEND["keeper"], [2], [102.0]),  # its resume; the failed --on-event hook is no decision
    }
    assert [text.get_text() for text in axes.texts] == ["1", "resume"]  # the donor under its mark, the action over it
    assert axes.get_title() == "ws_pbt: true objective"
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("iteration", "true objective")
    assert [text.get_text() for text in axes.get_legend().get_texts()] == [
        "policy 0", "policy 1", MARK_LEGEND["replacement"], MARK_LEGEND["restart"], MARK_LEGEND["attempt"],
        MARK_LEGEND["crash"], MARK_LEGEND["keeper"],
    ]


def test_plot_copies_the_history_first_and_writes_a_png(work: Path) -> None:
    code, out = plot(work, "--output", str(work / "p.png"))
    assert (code, out) == (0, f"Wrote {work / 'p.png'}: 2 policies, 11 points; marked 1 replacement(s), "
                              "1 restart(s), 1 later attempt(s), 1 crash(es), 1 keeper decision(s).\n")
    assert (work / "p.png").read_bytes().startswith(PNG_SIGNATURE)
    assert query(work / "pbt_tracker.db", "SELECT count(*) FROM pbt_iterations") == [(12,)]


def test_an_svg_holds_a_path_per_line_and_mark_kind_and_an_html_page_holds_that_svg(work: Path) -> None:
    assert plot(work, "--output", str(work / "p.svg"))[0] == 0
    assert plot(work, "--output", str(work / "p.html"))[0] == 0
    svg = ElementTree.parse(work / "p.svg").getroot()
    groups = {element.get("id") for element in svg.iter("{http://www.w3.org/2000/svg}g")}
    assert {"policy 0 life 1", "policy 0 life 2", "policy 1 life 1", "replacement", "restart", "attempt"} <= groups
    page = (work / "p.html").read_text()
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</body>\n</html>\n")
    assert "<title>ws_pbt: true objective</title>" in page
    inlined = page[page.index("<svg"):page.index("</svg>") + len("</svg>")]
    assert ElementTree.fromstring(inlined).tag == "{http://www.w3.org/2000/svg}svg"
    assert "href=" not in inlined.replace('xlink:href="#', "")  # nothing outside the page: only its own defs


def test_frames_on_the_x_axis(work: Path) -> None:
    store = open_store(work)
    try:
        copy_history(store)
        figure = draw(plot_data_of(store, Selection(), "frame"))
    finally:
        store.close()
    [axes] = figure.axes
    first = next(line for line in axes.get_lines() if line.get_gid() == "policy 1 life 1")
    assert list(first.get_xdata()) == [100, 200, 300, 400, 500]
    assert axes.get_xlabel() == "frame"


def test_wall_clock_time_on_the_x_axis(work: Path) -> None:
    """Policy 1's line breaks where attempt 2 picked it up; its crash and the keeper's resume are at their moments."""
    store = open_store(work)
    try:
        copy_history(store)
        figure = draw(plot_data_of(store, Selection(), "time"))
    finally:
        store.close()
    [axes] = figure.axes
    lines = {line.get_gid(): line for line in axes.get_lines()}
    second = 1 / 86400  # matplotlib counts days since the epoch
    day = START / 86400
    xs = list(lines["policy 1 life 1"].get_xdata())
    assert [round((x - day) / second) if x == x else "gap" for x in xs] == [10, 20, "gap", 70, 80, 90]
    assert [round((x - day) / second) for x in lines["crash"].get_xdata()] == [30]
    assert [round((x - day) / second) for x in lines["keeper"].get_xdata()] == [45]
    assert (list(lines["crash"].get_ydata()), list(lines["keeper"].get_ydata())) == ([102.0], [102.0])
    joined = lines["policy 1 until crash"]  # dotted from iteration 2's point to the crash, in policy 1's colour
    assert [round((x - day) / second) for x in joined.get_xdata()] == [20, 30]
    assert joined.get_color() == lines["policy 1 life 1"].get_color() and joined.get_linestyle() == ":"
    assert axes.get_xlabel() == "wall-clock time (UTC)"


def test_plot_with_time_on_the_x_axis_writes_a_png(work: Path) -> None:
    code, out = plot(work, "--x", "time", "--output", str(work / "f.png"))
    assert (code, out) == (0, f"Wrote {work / 'f.png'}: 2 policies, 11 points; marked 1 replacement(s), "
                              "1 restart(s), 1 later attempt(s), 1 crash(es), 1 keeper decision(s).\n")
    assert (work / "f.png").read_bytes().startswith(PNG_SIGNATURE)


def test_a_cancelled_attempt_is_marked_and_counted(work: Path) -> None:
    with sqlite3.connect(work / "pbt_tracker.db") as connection:
        connection.execute("UPDATE submissions SET state='CANCELLED', ended_at='2027-01-15 08:00:03' WHERE id=1")
    connection.close()
    code, out = plot(work, "--output", str(work / "p.png"))
    assert code == 0 and out.endswith("1 crash(es), 1 cancel(s), 1 keeper decision(s).\n")


@pytest.mark.parametrize(("template", "marked"), [
    ("#!/bin/bash\ntimeout $TIMEOUT $CMD\n", "1 later attempt(s), 1 keeper decision(s).\n"),  # its time limit
    ("#!/bin/bash\n$CMD\n", "1 later attempt(s), 1 crash(es), 1 keeper decision(s).\n"),  # the program's own 124
])
def test_failed_124_is_a_crash_unless_the_template_runs_the_command_under_timeout(work: Path, template: str,
                                                                                   marked: str) -> None:
    with sqlite3.connect(work / "pbt_tracker.db") as connection:
        connection.execute("UPDATE submissions SET exit_code=124 WHERE id=2")
        connection.execute("UPDATE launches SET template_text=?", (template,))
    connection.close()
    code, out = plot(work, "--output", str(work / "p.png"))
    assert code == 0 and out.endswith(marked), out


def test_the_keepers_record_of_a_failed_hook_is_left_out_by_its_name() -> None:
    from pbt_tracker.keeper.rules import EVENT_FAILED
    from pbt_tracker.plot.record import NOT_DECISIONS

    assert NOT_DECISIONS == (EVENT_FAILED,)


def test_an_unknown_x_axis_is_one_line_and_nothing_written(work: Path) -> None:
    before = (work / "pbt_tracker.db").read_bytes()
    argv = ["plot", "--workdir", str(work), "--x", "wallclock", "--output", str(work / "p.png")]
    result = CliRunner().invoke(cli, argv, prog_name="pbt-track")
    assert (result.exit_code, result.output) == (
        2, "Error: Invalid value for '--x': 'wallclock' is not one of 'iteration', 'frame', 'time'. "
           "(see `pbt-track plot --help`)\n"
    )
    assert not (work / "p.png").exists()
    assert (work / "pbt_tracker.db").read_bytes() == before


def test_run_and_launch_select_the_policies(work: Path) -> None:
    assert plot(work, "--output", str(work / "p.png"), "--run", "ws_pbt", "--launch", "1")[0] == 0
    assert plot(work, "--output", str(work / "q.png"), "--run", "nope") == (
        1, "Error: no run named nope in this workdir; `pbt-track report` lists the runs\n"
    )
    assert not (work / "q.png").exists()


def test_nothing_on_record_yet_is_one_line_and_no_file(tmp_path: Path, in_repo: Path) -> None:
    work = tmp_path / "w"
    CliRunner().invoke(cli, ["submit", "--run", "tests.fixtures.pbt_workspace_echo", "--backend", "slurm",
                             "--workdir", str(work), "--train_dir", str(tmp_path / "t"), "--slurm_print_only", "true"])
    assert plot(work, "--output", str(tmp_path / "p.png")) == (
        1, "Error: no PBT policy of this workdir has an objective on record yet; "
           "plot again once the policies have written their first iteration\n"
    )
    assert not (tmp_path / "p.png").exists()


@pytest.mark.parametrize(("name", "message"), [
    ("p.jpg", "cannot tell what picture to write to {out}: name a file ending in .png, .svg or .html"),
    ("missing/p.png", "cannot write {out}: there is no directory {dir}; create it first"),
])
def test_an_unusable_output_is_refused_before_anything_is_read(work: Path, name: str, message: str) -> None:
    before = (work / "pbt_tracker.db").read_bytes()
    out = work / name
    assert plot(work, "--output", str(out)) == (1, "Error: " + message.format(out=out, dir=out.parent) + "\n")
    assert not out.exists()
    assert (work / "pbt_tracker.db").read_bytes() == before


def test_without_matplotlib_plot_says_how_to_install_it(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an import of a package not installed raises
    assert plot(work, "--output", str(work / "p.png")) == (
        1, "Error: plot needs matplotlib: pip install 'pbt-track[plot]'\n"
    )
    assert not (work / "p.png").exists()
