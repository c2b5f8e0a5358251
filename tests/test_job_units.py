"""Naming many jobs to scancel, squeue and sacct at once: arrays by their id or task ranges, records read back per task."""

from __future__ import annotations

import os

from pbt_tracker.backends.slurm.commands import _chunks, whole_ranges
from pbt_tracker.backends.slurm.job_units import (
    expand_array_records,
    observation_of,
    observations_of,
    query_ids,
    scancel_arguments,
    task_ranges,
)
from pbt_tracker.backends.slurm.output import parse_sacct, parse_squeue


def test_task_ranges_join_consecutive_tasks() -> None:
    assert task_ranges([5, 0, 1, 2, 3, 7, 8, 9, 3]) == "0-3,5,7-9"
    assert task_ranges([4]) == "4"
    assert task_ranges([]) == ""


def test_a_whole_array_is_named_by_its_id_alone() -> None:
    assert scancel_arguments([(f"7_{task}", 4) for task in (3, 0, 2, 1)]) == [("7", ["7_3", "7_0", "7_2", "7_1"])]


def test_part_of_an_array_is_named_by_its_task_ranges() -> None:
    assert scancel_arguments([("7_0", 10), ("7_1", 10), ("7_5", 10)]) == [("7_[0-1,5]", ["7_0", "7_1", "7_5"])]


def test_an_array_whose_size_is_unknown_is_named_by_ranges_even_when_all_seem_given() -> None:
    assert scancel_arguments([("7_0", None), ("7_1", None)]) == [("7_[0-1]", ["7_0", "7_1"])]


def test_single_jobs_go_as_they_are_beside_arrays_in_the_order_first_given() -> None:
    assert scancel_arguments([("100", None), ("7_1", 2), ("101", None), ("7_0", 2), ("100", None)]) == [
        ("100", ["100"]), ("7", ["7_1", "7_0"]), ("101", ["101"])]


def test_squeue_is_asked_about_each_array_once() -> None:
    assert query_ids(["7_0", "7_1", "100", "8_3", "7_2"]) == ["7", "100", "8"]


def test_the_ids_asked_are_cut_where_one_argument_would_grow_too_long() -> None:
    ids = [str(1_000_000 + n) for n in range(30_000)]  # 8 characters each with the comma: 240,000

    chunks = _chunks(ids)

    assert [len(chunk) for chunk in chunks] == [12_500, 12_500, 5_000]
    assert [job for chunk in chunks for job in chunk] == ids
    assert _chunks([]) == []


def test_a_record_of_tasks_that_never_started_answers_for_each_of_them() -> None:
    jobs = parse_squeue("7_[4-9%2]|CANCELLED|0||N/A|N/A|2026-12-01T10:00:01|None|pbt-track:ab12:array3|\n"
                        "7_1|RUNNING|0|vm|2026-12-01T10:00:05|N/A|2026-12-01T10:00:01|None|pbt-track:ab12:array3|\n")

    expanded = expand_array_records(jobs, ["7_1", "7_5", "7_9", "7_10"], observation_of)

    assert expanded["7_1"].state == "RUNNING"
    assert (expanded["7_5"].job_id, expanded["7_5"].state, expanded["7_5"].comment) == (
        "7_5", "CANCELLED", "pbt-track:ab12:array3")
    assert expanded["7_9"].job_id == "7_9"
    assert "7_10" not in expanded


def test_a_bare_array_record_answers_for_every_task_not_listed_on_its_own() -> None:
    """squeue and sacct list an array whose pending tasks were all cancelled by their ranges as `7`."""
    jobs = parse_squeue("7|CANCELLED|0||N/A|N/A|2026-12-01T10:00:01|None||\n"
                        "7_0|COMPLETED|0|vm|2026-12-01T10:00:05|2026-12-01T10:01:05|2026-12-01T10:00:01|None||\n")

    expanded = expand_array_records(jobs, ["7_0", "7_3", "8_1"], observation_of)

    assert (expanded["7_0"].state, expanded["7_3"].state, expanded["7_3"].job_id) == ("COMPLETED", "CANCELLED", "7_3")
    assert "8_1" not in expanded


def test_sacct_records_of_an_array_answer_for_its_tasks_too() -> None:
    runs = parse_sacct("7_[4-9]|CANCELLED by 0|0:0|None assigned|None|2026-12-01T10:02:00|2026-12-01T10:00:01||\n")

    expanded = expand_array_records(runs, ["7_4", "7_3"], observations_of)

    assert [(run.job_id, run.state) for run in expanded["7_4"]] == [("7_4", "CANCELLED")]
    assert "7_3" not in expanded


def test_nothing_is_copied_when_every_wanted_job_has_its_own_line() -> None:
    jobs = parse_squeue("100|PENDING|0||N/A|N/A|2026-12-01T10:00:01|JobHeldUser||\n")

    assert expand_array_records(jobs, ["100", "101"], observation_of) is jobs


def test_a_record_whose_ranges_were_cut_short_answers_for_no_task() -> None:
    """Without SLURM_BITSTR_LEN=0 squeue cuts a record's ranges at 64 characters, mid-number, and sacct ends them with
    `...`: `17,1` would name task 1 for task 19, so neither answers for any task."""
    cut = parse_squeue("7_[1,3,5,7,9,11,13,15,17,1|CANCELLED|0||N/A|N/A|2026-12-01T10:00:01|None||\n")
    runs = parse_sacct("7_[1,3,5,7,9,11,13,15,17,19,21,23,25,27,29,31,33,35,37,39,41,43...]|CANCELLED by 0|0:0|"
                       "None assigned|None|2026-12-01T10:02:00|2026-12-01T10:00:01||\n")

    assert expand_array_records(cut, ["7_1", "7_19", "7_500"], observation_of) == cut
    assert expand_array_records(runs, ["7_1", "7_43", "7_45"], observations_of) == runs


def test_squeue_and_sacct_are_asked_for_whole_ranges() -> None:
    environment = whole_ranges()

    assert environment["SLURM_BITSTR_LEN"] == "0"
    assert environment["PATH"] == os.environ["PATH"]
