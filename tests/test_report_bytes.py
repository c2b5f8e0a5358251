"""`report --format json` and `--format csv` of a small record, pinned byte for byte.

The writers are free to take any road to their text (template, chunks, the
C encoder); what a script reading the report receives must not move. The
record is written by hand as syncs would have left it, with times in the
forms the record may hold (microseconds, none, a T), every kind of value
(a null, a bool, a quote, non-ASCII text) and a keeper's decision, whose
object spreads over lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from pbt_tracker.store import open_store

LAUNCH = {"id": 1, "run_name": 'run "q"', "run_module": "m", "backend": "slurm", "workdir": "w", "train_dir": "t",
          "experiment_suffix": "", "options": {}, "template_path": None, "template_text": None, "print_only": False,
          "hostname": "h", "username": "u", "pbt_track_version": "test", "created_at": "2026-12-07 09:00:00.000000"}
SUBMISSION = {"argv": ["sbatch", "x.sh"], "intended_at": "2026-12-07 09:00:00.000000",
              "updated_at": "2026-12-07 09:00:00.000000"}
ENDED = {"state": "COMPLETED", "job_id": "701", "exit_code": 0, "node": "n1", "log_path": "/logs/%j.out",
         "submitted_at": "2026-12-07 09:59:58.000001", "started_at": "2026-12-07 10:00:00.250000",
         "ended_at": "2026-12-07 11:00:00.249999", "partition": "gpu", "time_limit": "1-00:00:00",
         "exit_signal": 15, "cancel_requested_at": "2026-12-07 10:30:00.000000", "script_id": 1}
PENDING = {"state": "PENDING", "job_id": "702", "submitted_at": "2026-12-07 10:00:00", "pending_reason": "Priority",
           "time_limit": "2:00:00"}
T_FORM = {"state": "FAILED", "job_id": "703", "exit_code": 3, "node": "n2", "log_path": "/logs/fixed.out",
          "submitted_at": "2026-12-07T09:00:00", "started_at": "2026-12-07T10:00:00",
          "ended_at": "2026-12-08T12:00:01", "clock_skew": 5}
BACKWARDS = {"state": "OUT_OF_MEMORY", "job_id": "705", "exit_code": 0, "exit_signal": 9, "node": "n3",
             "submitted_at": "2026-12-07 10:00:00.000000", "started_at": "2026-12-07 12:00:00.000000",
             "ended_at": "2026-12-07 11:59:59.000000"}
FIRST = {"state": "FAILED", "job_id": "704", "exit_code": 1, "submitted_at": "2026-12-07 09:00:00.000000"}

JSON = r'''[
  {
    "run": "run \"q\"",
    "experiment": "00_exp",
    "attempt": 1,
    "job_id": "701",
    "state": "COMPLETED",
    "exit_code": 0,
    "elapsed": "0:59:59",
    "node": "n1",
    "log": "/logs/701.out",
    "script": "/scripts/00.sh",
    "launch_id": 1,
    "backend": "slurm",
    "submitted_at": "2026-12-07T09:59:58Z",
    "started_at": "2026-12-07T10:00:00Z",
    "ended_at": "2026-12-07T11:00:00Z",
    "exit_signal": 15,
    "pending_reason": null,
    "cancel_requested": true,
    "clock_skew": null,
    "pbt_policy": null,
    "pbt_iteration": null,
    "pbt_objective": null,
    "pbt_best_objective": null,
    "pbt_population_best": null,
    "pbt_params": null,
    "partition": "gpu",
    "time_limit": "1-00:00:00",
    "time_left": null,
    "keeper_last_decision": null
  },
  {
    "run": "run \"q\"",
    "experiment": "01_\u00e9t\u00e9",
    "attempt": 1,
    "job_id": "702",
    "state": "PENDING",
    "exit_code": null,
    "elapsed": null,
    "node": null,
    "log": null,
    "script": null,
    "launch_id": 1,
    "backend": "slurm",
    "submitted_at": "2026-12-07T10:00:00Z",
    "started_at": null,
    "ended_at": null,
    "exit_signal": null,
    "pending_reason": "Priority",
    "cancel_requested": false,
    "clock_skew": null,
    "pbt_policy": null,
    "pbt_iteration": null,
    "pbt_objective": null,
    "pbt_best_objective": null,
    "pbt_population_best": null,
    "pbt_params": null,
    "partition": null,
    "time_limit": "2:00:00",
    "time_left": "2:00:00",
    "keeper_last_decision": null
  },
  {
    "run": "run \"q\"",
    "experiment": "02_exp",
    "attempt": 1,
    "job_id": "703",
    "state": "FAILED",
    "exit_code": 3,
    "elapsed": "26:00:01",
    "node": "n2",
    "log": "/logs/fixed.out",
    "script": null,
    "launch_id": 1,
    "backend": "slurm",
    "submitted_at": "2026-12-07T09:00:00Z",
    "started_at": "2026-12-07T10:00:00Z",
    "ended_at": "2026-12-08T12:00:01Z",
    "exit_signal": null,
    "pending_reason": null,
    "cancel_requested": false,
    "clock_skew": 5,
    "pbt_policy": null,
    "pbt_iteration": null,
    "pbt_objective": null,
    "pbt_best_objective": null,
    "pbt_population_best": null,
    "pbt_params": null,
    "partition": null,
    "time_limit": null,
    "time_left": null,
    "keeper_last_decision": {
      "action": "resubmit",
      "reason": "exit 3 \"retry\"",
      "decided_at": "2026-12-07T11:00:05Z"
    }
  },
  {
    "run": "run \"q\"",
    "experiment": "03_exp",
    "attempt": 2,
    "job_id": "705",
    "state": "OUT_OF_MEMORY",
    "exit_code": 0,
    "elapsed": "0:00:00",
    "node": "n3",
    "log": null,
    "script": null,
    "launch_id": 1,
    "backend": "slurm",
    "submitted_at": "2026-12-07T10:00:00Z",
    "started_at": "2026-12-07T12:00:00Z",
    "ended_at": "2026-12-07T11:59:59Z",
    "exit_signal": 9,
    "pending_reason": null,
    "cancel_requested": false,
    "clock_skew": null,
    "pbt_policy": null,
    "pbt_iteration": null,
    "pbt_objective": null,
    "pbt_best_objective": null,
    "pbt_population_best": null,
    "pbt_params": null,
    "partition": null,
    "time_limit": null,
    "time_left": null,
    "keeper_last_decision": null
  }
]
'''

CSV = r'''run,experiment,attempt,job_id,state,exit_code,elapsed,node,log,script,launch_id,backend,submitted_at,started_at,ended_at,exit_signal,pending_reason,cancel_requested,clock_skew,pbt_policy,pbt_iteration,pbt_objective,pbt_best_objective,pbt_population_best,pbt_params,partition,time_limit,time_left
"run ""q""",00_exp,1,701,COMPLETED,0,0:59:59,n1,/logs/701.out,/scripts/00.sh,1,slurm,2026-12-07T09:59:58Z,2026-12-07T10:00:00Z,2026-12-07T11:00:00Z,15,,True,,,,,,,,gpu,1-00:00:00,
"run ""q""",01_été,1,702,PENDING,,,,,,1,slurm,2026-12-07T10:00:00Z,,,,Priority,False,,,,,,,,,2:00:00,2:00:00
"run ""q""",02_exp,1,703,FAILED,3,26:00:01,n2,/logs/fixed.out,,1,slurm,2026-12-07T09:00:00Z,2026-12-07T10:00:00Z,2026-12-08T12:00:01Z,,,False,5,,,,,,,,,
"run ""q""",03_exp,2,705,OUT_OF_MEMORY,0,0:00:00,n3,,,1,slurm,2026-12-07T10:00:00Z,2026-12-07T12:00:00Z,2026-12-07T11:59:59Z,9,,False,,,,,,,,,,
'''

CSV_ALL_ATTEMPTS = r'''experiment,attempt,elapsed,started_at,log
00_exp,1,0:59:59,2026-12-07T10:00:00Z,/logs/701.out
01_été,1,,,
02_exp,1,26:00:01,2026-12-07T10:00:00Z,/logs/fixed.out
03_exp,1,,,
03_exp,2,0:00:00,2026-12-07T12:00:00Z,
'''

JSON_COLUMNS = r'''[
  {
    "elapsed": "0:59:59",
    "state": "COMPLETED",
    "log": "/logs/701.out",
    "reason": null,
    "started_at": "2026-12-07T10:00:00Z",
    "exit_code": 0
  },
  {
    "elapsed": null,
    "state": "PENDING",
    "log": null,
    "reason": "Priority",
    "started_at": null,
    "exit_code": null
  },
  {
    "elapsed": "26:00:01",
    "state": "FAILED",
    "log": "/logs/fixed.out",
    "reason": null,
    "started_at": "2026-12-07T10:00:00Z",
    "exit_code": 3
  },
  {
    "elapsed": "0:00:00",
    "state": "OUT_OF_MEMORY",
    "log": null,
    "reason": null,
    "started_at": "2026-12-07T12:00:00Z",
    "exit_code": 0
  }
]
'''


@pytest.fixture
def work(tmp_path: Path) -> Path:
    from pbt_tracker.store import writes

    work = tmp_path / "w"
    store = open_store(work)
    try:
        with store.write() as connection:
            writes.insert_many(connection, "launches", [LAUNCH])
            writes.insert_many(connection, "experiments", [
                {"id": index + 1, "launch_id": 1, "position": index, "name": name, "base_name": "exp",
                 "cmd": "python train.py", "params": {}, "env_vars": None, "root_dir": "r", "train_dir": "t"}
                for index, name in enumerate(["00_exp", "01_été", "02_exp", "03_exp"])])
            writes.insert_many(connection, "scripts", [{"id": 1, "experiment_id": 1, "path": "/scripts/00.sh",
                                                        "text": "#!/bin/sh\n", "sha256": "0" * 64,
                                                        "created_at": "2026-12-07 09:00:00.000000"}])
            for experiment, attempt, values in [(1, 1, ENDED), (2, 1, PENDING), (3, 1, T_FORM), (4, 1, FIRST),
                                                (4, 2, BACKWARDS)]:
                writes.insert_many(connection, "submissions",
                                   [{**SUBMISSION, "experiment_id": experiment, "attempt": attempt, **values}])
            writes.insert_many(connection, "keeper_decisions", [{
                "decided_at": "2026-12-07 11:00:05.000000", "keeper": "k", "experiment_id": 3, "submission_id": None,
                "action": "resubmit", "reason": "exit 3 \"retry\"", "detail": None}])
    finally:
        store.close()
    return work


def report(work: Path, *argv: str) -> str:
    result = CliRunner().invoke(cli, ["report", "--workdir", str(work), "--no-sync", *argv])
    assert (result.exit_code, result.stderr) == (0, "")
    return result.stdout




def test_the_json_report_is_pinned(work: Path) -> None:
    assert report(work, "--format", "json") == JSON


def test_the_csv_report_is_pinned(work: Path) -> None:
    assert report(work, "--format", "csv") == CSV
    assert report(work, "--format", "csv", "--all-attempts", "-o", "experiment,attempt,elapsed,started_at,log") == (
        CSV_ALL_ATTEMPTS)


def test_the_json_report_of_chosen_columns_is_pinned(work: Path) -> None:
    assert report(work, "--format", "json", "-o", "elapsed,state,log,reason,started_at,exit_code") == JSON_COLUMNS


def test_csv_writes_a_policys_parameters_as_json_text_in_every_column_layout() -> None:
    """CSV looks for mappings only in the fields that may hold one: those are every field typed as a mapping."""
    import io

    from pbt_tracker.report.rows import MAPPINGS, ReportRow
    from pbt_tracker.report.stream import write_report

    assert MAPPINGS == tuple(field for field, kind in ReportRow.__annotations__.items() if "dict" in str(kind))
    row = ReportRow(run="r", experiment="e", attempt=1, job_id="7", state="RUNNING", exit_code=None, elapsed=None,
                    node=None, log=None, script=None, launch_id=1, backend="slurm", submitted_at=None,
                    started_at=None, ended_at=None, pbt_params={"lr": 0.5, "name": "a,b"})
    out = io.StringIO()
    write_report(out, "csv", [row, row._replace(pbt_params=None)], columns=("experiment", "params", "state"))
    assert out.getvalue() == 'experiment,params,state\ne,"{""lr"": 0.5, ""name"": ""a,b""}",RUNNING\ne,,RUNNING\n'
    out = io.StringIO()
    write_report(out, "csv", [row])
    assert out.getvalue().splitlines()[1] == (
        'r,e,1,7,RUNNING,,,,,,1,slurm,,,,,,False,,,,,,,"{""lr"": 0.5, ""name"": ""a,b""}",,,')
