"""JSON and CSV reports are written as the record is read, and say what json.dumps and csv.DictWriter would.

A report of a year of launches holds a chunk of rows at a time (benchmarks/report_stream.py measures 100,000
experiments); these tests pin the bytes against the standard library's own writers, and that rows are
written before the last of them is read.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from pbt_tracker.report.stream import CHUNK, write_csv, write_json
from pbt_tracker.store import open_store
from pbt_tracker.store.selection import Selection

FIELDS = ("run", "experiment", "attempt", "objective", "done", "params", "keeper_last_decision")
SCALARS: list[Any] = [None, 0, -7, 2.5, 1e-9, float("nan"), float("inf"), True, False, "", "plain",
                      "quote \" back \\ slash", "tab\tnewline\n nul \x00 one \x01", "é ünïcödé ✓", "[1, 2]", "{}",
                      "%s %d %%", "]\x00["]
NESTED: list[Any] = [{}, [], {"lr": 0.001, "seed": 3}, {"deep": {"list": [1, {"x": None}]}}, [4], [1, 2]]


def build(workdir: Path, experiments: int, attempts: int) -> None:
    """A record of `experiments` experiments in one launch, `attempts` ended attempts each, written in one go."""
    from datetime import timedelta

    from pbt_tracker.store import utcnow, writes

    store = open_store(workdir)
    now = utcnow()
    try:
        with store.write() as connection:
            writes.insert_many(connection, "launches", [{
                "id": 1, "run_name": "run", "run_module": "bench", "backend": "slurm", "workdir": str(workdir),
                "train_dir": "t", "experiment_suffix": "", "options": {}, "template_path": None,
                "template_text": None, "print_only": False, "hostname": "h", "username": "u",
                "pbt_track_version": "test", "created_at": now}])
            writes.insert_many(connection, "experiments", [{
                "id": index + 1, "launch_id": 1, "position": index, "name": f"{index:02d}_exp{index}",
                "base_name": "exp", "cmd": "python train.py", "params": {}, "env_vars": None, "root_dir": "r",
                "train_dir": "t"} for index in range(experiments)])
            writes.insert_many(connection, "submissions", [{
                "experiment_id": index + 1, "attempt": attempt, "argv": ["sbatch", "x.sh"], "log_path": "l-%j.out",
                "state": "COMPLETED" if attempt == attempts else "FAILED", "job_id": str(1000 * attempt + index),
                "exit_code": 0, "node": "n1", "intended_at": now, "submitted_at": now, "started_at": now,
                "ended_at": now + timedelta(hours=1), "updated_at": now}
                for index in range(experiments) for attempt in range(1, attempts + 1)])
    finally:
        store.close()


def rows_of(values: list[Any], count: int) -> list[tuple[Any, ...]]:
    return [tuple(values[(index * 7 + column * 3) % len(values)] for column in range(len(FIELDS)))
            for index in range(count)]


def as_json(rows: list[tuple[Any, ...]]) -> str:
    return json.dumps([dict(zip(FIELDS, row)) for row in rows], indent=2) + "\n"


def as_csv(rows: list[tuple[Any, ...]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(FIELDS), lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: json.dumps(value) if isinstance(value, dict) else value for key, value in zip(FIELDS, row)}
                     for row in rows)
    return buffer.getvalue()


@pytest.mark.parametrize("count", [0, 1, 2, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 5])
@pytest.mark.parametrize("values", [SCALARS, SCALARS + NESTED], ids=["scalars", "with-nested"])
def test_json_and_csv_are_byte_for_byte_the_standard_librarys(values: list[Any], count: int) -> None:
    rows = rows_of(values, count)
    out = io.StringIO()
    write_json(out, FIELDS, iter(rows))
    assert out.getvalue() == as_json(rows)
    out = io.StringIO()
    write_csv(out, FIELDS, iter(rows))
    assert out.getvalue() == as_csv(rows)


def test_a_chunk_with_a_nested_value_anywhere_is_indented_like_json_dumps() -> None:
    for column in range(len(FIELDS)):
        for value in NESTED:
            rows = rows_of(["a", 1, None], 3)
            rows[1] = rows[1][:column] + (value,) + rows[1][column + 1:]
            out = io.StringIO()
            write_json(out, FIELDS, rows)
            assert out.getvalue() == as_json(rows), (column, value)


class Interrupted(Exception):
    pass


def test_rows_are_written_before_the_last_one_is_read() -> None:
    written = io.StringIO()

    def rows() -> Iterator[tuple[Any, ...]]:
        yield from rows_of(SCALARS, CHUNK + 10)
        raise Interrupted

    for writer in (write_json, write_csv):
        written = io.StringIO()
        with pytest.raises(Interrupted):
            writer(written, FIELDS, rows())
        assert written.getvalue().count('"run": ' if writer is write_json else "\n") >= CHUNK


def test_the_records_rows_come_from_the_cursor_one_at_a_time(tmp_path: Path) -> None:
    from pbt_tracker.report.rows import reading_rows, report_rows

    build(tmp_path / "w", 300, 2)
    store = open_store(tmp_path / "w", create=False)
    try:
        with reading_rows(store, Selection()) as rows:
            assert not isinstance(rows, list | tuple)
            first = next(rows)
            rest = list(rows)
        assert [first, *rest] == report_rows(store, Selection())
        assert len(rest) == 299 and first.experiment == "00_exp0" and first.attempt == 2
    finally:
        store.close()


def test_report_json_and_csv_of_a_record_say_what_its_rows_do(tmp_path: Path) -> None:
    from pbt_tracker.report.rows import ReportRow, report_rows

    build(tmp_path / "w", 2 * CHUNK + 50, 1)
    store = open_store(tmp_path / "w", create=False)
    try:
        rows = report_rows(store, Selection())
    finally:
        store.close()
    runner = CliRunner()
    result = runner.invoke(cli, ["report", "--workdir", str(tmp_path / "w"), "--no-sync", "--format", "json"])
    assert result.exit_code == 0, result.output
    expected = [{**row._asdict(), "keeper_last_decision": None} for row in rows]
    assert result.output == json.dumps(expected, indent=2) + "\n"
    assert expected[0]["started_at"] is not None and expected[0]["elapsed"] == "1:00:00"
    result = runner.invoke(cli, ["report", "--workdir", str(tmp_path / "w"), "--no-sync", "--format", "csv"])
    assert result.exit_code == 0, result.output
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(ReportRow._fields), lineterminator="\n")
    writer.writeheader()
    writer.writerows(row._asdict() for row in rows)
    assert result.output == buffer.getvalue()


def test_each_record_value_lands_in_its_named_field() -> None:
    """Rows are made positionally, in C: a field added to ReportRow or ReportRecord must not shift its neighbours."""
    from datetime import datetime

    from pbt_tracker.report import rows as rows_module
    from pbt_tracker.report.rows import ReportRow
    from pbt_tracker.store.report import ReportRecord

    record = ReportRecord(
        run="r", experiment="e", attempt=3, job_id="77", state="RUNNING", exit_code=None,
        started_at="2026-12-07 10:00:00.250000", ended_at=None, node="n9", log_path="/l/%j.out", script="/s.sh",
        launch_id=5, backend="slurm", submitted_at="2026-12-07 09:59:58.000001", exit_signal=9,
        pending_reason="Priority", cancel_requested_at="2026-12-07 10:30:00", clock_skew=None, partition="gpu",
        time_limit="2:00:00", params=None, cmd=None, train_dir=None, cwd=None, experiment_id=None)
    (row,) = rows_module._made([record], None, datetime(2026, 12, 7, 11, 0, 0, 750000))
    assert row == ReportRow(
        run="r", experiment="e", attempt=3, job_id="77", state="RUNNING", exit_code=None, elapsed="1:00:00",
        node="n9", log="/l/77.out", script="/s.sh", launch_id=5, backend="slurm", submitted_at="2026-12-07T09:59:58Z",
        started_at="2026-12-07T10:00:00Z", ended_at=None, exit_signal=9, pending_reason="Priority",
        cancel_requested=True, clock_skew=None, partition="gpu", time_limit="2:00:00", time_left="1:00:00")
