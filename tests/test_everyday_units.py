"""The pure parts of report, logs -f and report --watch, on literal rows, files and a fake clock."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pbt_tracker.report.logs import LogTarget, follow, last_lines
from pbt_tracker.report.rows import ReportRow, render
from pbt_tracker.report.table import COLUMNS, Layout, cell, column_cells, table, wants_colour
from pbt_tracker.report.watch import watch_loop


def row(experiment: str, state: str, **extra: object) -> ReportRow:
    values: dict[str, object] = dict(run="r", experiment=experiment, attempt=1, job_id="7", state=state,
                                     exit_code=None, elapsed=None, node=None, log=None, script=None, launch_id=1,
                                     backend="slurm", submitted_at=None, started_at=None, ended_at=None)
    return ReportRow(**{**values, **extra})  # type: ignore[arg-type]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_states_are_coloured_on_a_terminal_only_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert (wants_colour(Tty()), wants_colour(io.StringIO())) == (True, False)
    monkeypatch.setenv("NO_COLOR", "")
    assert wants_colour(Tty()) is False
    text = table([row("a", "FAILED"), row("b", "COMPLETED")], Layout(("experiment", "state", "job_id")), colour=True)
    assert text.splitlines()[2:] == ["a           \x1b[31mFAILED\x1b[0m     7", "b           \x1b[32mCOMPLETED\x1b[0m  7"]


def test_a_column_made_at_once_holds_exactly_the_cells_made_one_by_one() -> None:
    rows = [
        row("a", "FAILED", exit_code=0, exit_signal=9, node="n1", log="/l/a.out", pbt_objective=0.123456,
            pbt_params={"train.lr": 0.5}, pbt_policy="3*", pbt_iteration=4, partition="gpu", time_limit="1:00:00"),
        row("b", "PENDING", pending_reason="JobHeldUser", cancel_requested=True, started_at="2026-11-29T10:10:00Z",
            clock_skew=-600, pbt_params={}, pbt_best_objective=2.0),
        row("a-very-long-experiment-name", "RUNNING", attempt=12, elapsed="1:02:03", launch_id=None, job_id=None),
    ]
    for layout in (Layout(COLUMNS), Layout(COLUMNS, log_name_only=True, experiment_width=12, short_states=True)):
        for column in COLUMNS:
            assert column_cells(rows, column, layout) == [cell(r, column, layout) for r in rows], column


def test_a_signalled_exit_reads_as_sacct_prints_it() -> None:
    text = table([row("a", "FAILED", exit_code=0, exit_signal=9), row("b", "FAILED", exit_code=2)],
                 Layout(("experiment", "exit_code")))
    assert text.splitlines()[2:] == ["a                 0:9", "b                   2"]


def test_a_policy_whose_iteration_file_has_no_hyperparameters_shows_a_dash_for_them() -> None:
    text = table([row("a", "RUNNING", pbt_params={}), row("b", "RUNNING", pbt_params={"train.lr": 0.5})],
                 Layout(("experiment", "params")))
    assert text.splitlines()[2:] == ["a           -", "b           lr=0.5"]


def test_a_live_job_scancel_accepted_shows_its_cancel_request_beside_slurms_state() -> None:
    rows = [row("a", "RUNNING", cancel_requested=True), row("b", "CANCELLED", cancel_requested=True),
            row("c", "RUNNING")]
    text = table(rows, Layout(("experiment", "state")))
    assert text.splitlines()[2:] == ["a           RUNNING (cancel requested)", "b           CANCELLED",
                                     "c           RUNNING"]


def test_times_by_a_skewed_scheduler_clock_are_marked_and_explained() -> None:
    start, end = "2026-11-29T10:10:00Z", "2026-11-29T10:20:00Z"
    rows = [row("a", "COMPLETED", started_at=start, ended_at=end, clock_skew=-600),
            row("b", "COMPLETED", started_at=start, ended_at=end)]
    text = render(rows, "table", columns=("experiment", "started_at", "ended_at"))
    assert text.splitlines()[2:] == [
        "a           2026-11-29T10:10:00Z~  2026-11-29T10:20:00Z~",
        "b           2026-11-29T10:10:00Z   2026-11-29T10:20:00Z",
        "2 experiments: 2 COMPLETED",
        "~ Slurm's time, by a clock seen at least 600 s behind this host's",
    ]
    assert "~" not in render(rows, "table", columns=("experiment", "state"))  # no time shown, nothing to explain


def test_last_lines_counts_as_tail_does() -> None:
    assert last_lines("a\nb\nc", 2) == "b\nc"
    assert last_lines("a\nb\n", 0) == ""
    assert last_lines("a\nb\n", None) == "a\nb\n"


def test_follow_waits_for_a_pending_log_then_moves_to_the_next_attempts_log_saying_only_what_is_known(
    tmp_path: Path,
) -> None:
    """The next attempt is first only pending: it is said to have started once the record says it runs."""
    first, second = tmp_path / "job-1.out", tmp_path / "job-2.out"
    targets = [LogTarget("03_toy", 1, "7765", "PENDING", first)]
    out, err = io.StringIO(), io.StringIO()
    script = iter([
        lambda: first.write_text("line 1\n"),
        lambda: first.write_text("line 1\nline 2\n"),
        lambda: targets.append(LogTarget("03_toy", 2, "7790", "PENDING", second)),
        lambda: targets.append(LogTarget("03_toy", 2, "7790", "RUNNING", second)),
        lambda: second.write_text("again\n"),
    ])

    def sleep(_seconds: float) -> None:
        step = next(script, None)
        if step is None:
            raise KeyboardInterrupt
        step()

    follow(lambda: targets[-1], out, err, lines=None, sleep=sleep, record_every=2)
    assert out.getvalue() == "line 1\nline 2\nagain\n"
    assert err.getvalue() == (
        f"pbt-track: waiting for {first} (03_toy attempt 1, job 7765, PENDING)\n"
        f"pbt-track: 03_toy attempt 2 (job 7790) is pending; following {second}\n"
        f"pbt-track: waiting for {second} (03_toy attempt 2, job 7790, PENDING)\n"
        "pbt-track: 03_toy attempt 2 (job 7790) started\n"
    )


def test_watch_redraws_in_place_on_a_terminal_and_appends_on_a_pipe() -> None:
    drawn = iter(["table 1\n", "table 2\n"])
    sleeps = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise KeyboardInterrupt

    clock = lambda: datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc)  # noqa: E731
    terminal = Tty()
    watch_loop(lambda: next(drawn), 5, terminal, sleep, clock)
    assert terminal.getvalue() == (
        "\x1b[H\x1b[2JEvery 5s: pbt-track report  2026-11-29T10:00:00Z\n\ntable 1\n"
        "\x1b[H\x1b[2JEvery 5s: pbt-track report  2026-11-29T10:00:00Z\n\ntable 2\n"
    )
    assert sleeps == [5, 5]
    pipe = io.StringIO()
    sleeps.clear()
    watch_loop(lambda: "t\n", 1.5, pipe, sleep, clock)
    assert pipe.getvalue() == ("Every 1.5s: pbt-track report  2026-11-29T10:00:00Z\n\nt\n\n" * 2)
