"""What the read commands print, at 80 columns, with names as long as real populations have: every table fits,
`-o` chooses the columns of every format, one time form, the partition and the time limit, and a report made
empty by `forget` says why. The record is set by hand as a sync would have left it."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from pbt_tracker.report.rows import limit_seconds, time_left

RUN = "tests.fixtures.long_names_pbt"
OUTCOMES = """
UPDATE submissions SET state='COMPLETED', job_id='12345670', exit_code=0, node='gpu-node-017', partition='gpu',
    time_limit='1-00:00:00', submitted_at='2026-12-07 14:00:00', started_at='2026-12-07 14:01:07',
    ended_at='2026-12-08 02:11:09' WHERE id=1;
UPDATE submissions SET state='OUT_OF_MEMORY', job_id='12345671', exit_code=0, exit_signal=9, node='gpu-node-018',
    partition='gpu', time_limit='1-00:00:00', submitted_at='2026-12-07 14:00:00',
    started_at='2026-12-07 14:01:07', ended_at='2026-12-07 18:00:00', attempt=3 WHERE id=2;
UPDATE submissions SET state='PENDING', job_id='12345672', pending_reason='Resources', partition='gpu',
    time_limit='12:00:00', submitted_at='2026-12-07 14:00:00' WHERE id=3;
UPDATE submissions SET state='FAILED', job_id='12345673', exit_code=3, node='gpu-node-019', partition='gpu-long',
    time_limit='2-00:00:00', submitted_at='2026-12-07 14:00:00', started_at='2026-12-07 14:01:07',
    ended_at='2026-12-07 14:31:07' WHERE id=4;
UPDATE submissions SET state='SUBMIT_UNCERTAIN' WHERE id=5;
UPDATE submissions SET state='CANCELLED', job_id='12345675', exit_code=0, exit_signal=15, node='gpu-node-020',
    partition='gpu', time_limit='1-00:00:00', submitted_at='2026-12-07 14:00:00',
    started_at='2026-12-07 14:01:07', ended_at='2026-12-07 15:01:07' WHERE id=6;
UPDATE submissions SET state='TIMEOUT', job_id='12345676', exit_code=0, node='gpu-node-021', partition='gpu',
    time_limit='1-00:00:00', submitted_at='2026-12-07 14:00:00', started_at='2026-12-07 14:01:07',
    ended_at='2026-12-08 14:01:08' WHERE id=7;
UPDATE submissions SET state='COMPLETED', job_id='12345677', exit_code=0, node='gpu-node-022', partition='gpu',
    time_limit='1-00:00:00', submitted_at='2026-12-07 14:00:00', started_at='2026-12-07 14:01:07',
    ended_at='2026-12-08 01:01:07' WHERE id=8;
"""


@pytest.fixture
def work(in_repo: Path, tmp_path: Path) -> Path:
    """Eight policies of `allegro_kuka_regrasp_pbt`, ended every way a population's jobs end."""
    work = tmp_path / "slurm_logs"
    result = CliRunner().invoke(cli, ["submit", "--run", RUN, "--backend", "slurm", "--workdir", str(work),
                                      "--slurm_print_only", "true", "--train_dir", str(tmp_path / "train")])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(work / "pbt_tracker.db") as connection:
        connection.executescript(OUTCOMES)
    connection.close()
    return work


def invoke(*argv: str, columns: int = 80) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(argv), prog_name="pbt-track", env={"COLUMNS": str(columns), "NO_COLOR": "1"})
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("argv", [
    ("report",), ("report", "--pbt"), ("report", "--all-attempts"), ("report", "--pbt", "--all-attempts"),
    ("launches",), ("launches", "--all-launches"),
], ids=" ".join)
def test_every_line_of_every_table_fits_80_columns(work: Path, argv: tuple[str, ...]) -> None:
    code, out, err = invoke(*argv, "--workdir", str(work), "--no-sync")
    assert (code, err) == (0, "")
    assert len(out.splitlines()) > 2
    assert [line for line in out.splitlines() if len(line) > 80] == []


def test_report_pbt_at_80_columns_keeps_the_objective_and_shortens_the_states_as_squeue_does(work: Path) -> None:
    """86 columns before: now the job id goes first, states take squeue's codes, and names are cut last."""
    code, out, _ = invoke("report", "--pbt", "--workdir", str(work), "--no-sync")
    assert code == 0
    assert out == (
        "experiment    attempt  state             exit_code  policy  iteration  objective\n"
        "------------  -------  ----------------  ---------  ------  ---------  ---------\n"
        "00_allegro_+        1  CD                        0       0          -          -\n"
        "01_allegro_+        3  OOM                     0:9       1          -          -\n"
        "02_allegro_+        1  PD                        -       2          -          -\n"
        "03_allegro_+        1  F                         3       3          -          -\n"
        "04_allegro_+        1  SUBMIT_UNCERTAIN          -       4          -          -\n"
        "05_allegro_+        1  CA                     0:15       5          -          -\n"
        "06_allegro_+        1  TO                        0       6          -          -\n"
        "07_allegro_+        1  CD                        0       7          -          -\n"
        "8 experiments: 1 CANCELLED, 2 COMPLETED, 1 FAILED, 1 OUT_OF_MEMORY, 1 PENDING, 1\n"
        "    SUBMIT_UNCERTAIN, 1 TIMEOUT\n"
    )


def test_o_chooses_and_orders_the_csv_columns(work: Path) -> None:
    code, out, _ = invoke("report", "-o", "job_id,experiment", "--format", "csv", "--workdir", str(work), "--no-sync",
                          "-t", "CD,F")
    assert (code, out) == (0, "job_id,experiment\n12345670,00_allegro_kuka_regrasp_pbt\n"
                              "12345673,03_allegro_kuka_regrasp_pbt\n12345677,07_allegro_kuka_regrasp_pbt\n")


def test_o_chooses_and_orders_the_json_keys_with_partition_time_limit_and_time_left(work: Path) -> None:
    code, out, _ = invoke("report", "-o", "job_id,experiment,partition,time_limit,time_left", "--format", "json",
                          "-j", "12345672,12345673", "--workdir", str(work), "--no-sync")
    assert code == 0
    assert json.loads(out) == [
        {"job_id": "12345672", "experiment": "02_allegro_kuka_regrasp_pbt", "partition": "gpu",
         "time_limit": "12:00:00", "time_left": "12:00:00"},  # pending: all of it is left
        {"job_id": "12345673", "experiment": "03_allegro_kuka_regrasp_pbt", "partition": "gpu-long",
         "time_limit": "2-00:00:00", "time_left": None},  # ended: none
    ]
    assert [list(item) for item in json.loads(out)] == [["job_id", "experiment", "partition", "time_limit",
                                                         "time_left"]] * 2


def test_the_table_shows_partition_and_time_limit_when_asked(work: Path) -> None:
    code, out, _ = invoke("report", "-o", "experiment,partition,time_limit", "-t", "PD,F", "--workdir", str(work),
                          "--no-sync")
    assert (code, out) == (0, "experiment                   partition  time_limit\n"
                              "---------------------------  ---------  ----------\n"
                              "02_allegro_kuka_regrasp_pbt  gpu          12:00:00\n"
                              "03_allegro_kuka_regrasp_pbt  gpu-long   2-00:00:00\n"
                              "2 experiments: 1 FAILED, 1 PENDING\n")


def test_time_left_counts_down_from_the_start_as_squeues_time_left() -> None:
    now = datetime(2026, 12, 7, 14, 0, 0)
    assert time_left("1-00:00:00", "RUNNING", datetime(2026, 12, 7, 13, 0, 0), now) == "23:00:00"
    assert time_left("2-12:00:00", "RUNNING", datetime(2026, 12, 7, 13, 59, 59), now) == "2-11:59:59"
    assert time_left("30:00", "RUNNING", datetime(2026, 12, 7, 13, 0, 0), now) == "0:00:00"
    assert time_left("30:00", "PENDING", None, now) == "0:30:00"
    assert time_left("UNLIMITED", "RUNNING", None, now) is None
    assert time_left("1:00:00", "COMPLETED", datetime(2026, 12, 7, 13, 0, 0), now) is None
    assert [limit_seconds(text) for text in ("30", "30:00", "2:00:00", "1-00:00:00", "1-12", "1-12:30", "N/A")] == [
        1800, 1800, 7200, 86400, 129600, 131400, None]


def test_launches_prints_times_in_iso_8601_utc(work: Path) -> None:
    code, out, _ = invoke("launches", "--workdir", str(work), "--no-sync", columns=200)
    created = out.splitlines()[2].split()[1]
    assert code == 0 and len(created) == 20 and created.endswith("Z") and created[10] == "T"
    assert datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ")


def test_a_report_emptied_by_forget_says_what_was_forgotten_and_how_to_see_it(work: Path) -> None:
    assert invoke("forget", "--launch", "1", "--workdir", str(work), "--no-sync")[0] == 0
    code, out, _ = invoke("report", "--workdir", str(work), "--no-sync")
    assert (code, out) == (0, "run  experiment  attempt  job_id  state  exit_code  elapsed  node  log\n"
                              "---  ----------  -------  ------  -----  ---------  -------  ----  ---\n"
                              "0 experiments\n"
                              "Forgotten launch 1 (allegro_kuka_regrasp_pbt, 8 experiments): `pbt-track report "
                              "--all-launches` shows it.\n")
    assert len(invoke("report", "--all-launches", "--workdir", str(work), "--no-sync")[1].splitlines()) == 2 + 8 + 2


def test_a_sync_records_the_partition_and_time_limit_squeue_gives() -> None:
    from datetime import timedelta

    from pbt_tracker.backends.slurm.evidence import Tracked, next_state
    from pbt_tracker.backends.slurm.output import parse_squeue

    line = "12345672|RUNNING|0|gpu-node-017|2026-12-07T14:01:07|2026-12-08T14:01:07|2026-12-07T14:00:00|None|gpu|1-00:00:00||"
    (observation,) = parse_squeue(line).values()
    item = Tracked(3, "12345672", "PENDING", datetime(2026, 12, 7, 14), None, None, None, None, None, "Resources",
                   None, 0, "u", None, None)
    change = next_state(item, observation, False, datetime(2026, 12, 7, 15), timedelta(seconds=300))
    assert change is not None
    assert (change.state, change.values["partition"], change.values["time_limit"]) == ("RUNNING", "gpu", "1-00:00:00")


def test_paths_are_printed_without_dot_dot(in_repo: Path, tmp_path: Path) -> None:
    (tmp_path / "ige_proj").mkdir()
    given = f"{tmp_path}/ige_proj/../pop1"
    code, out, _ = invoke("submit", "--run", RUN, "--backend", "slurm", "--workdir", given, "--slurm_print_only",
                          "true", "--train_dir", str(tmp_path / "train"))
    assert code == 0
    assert f"Recorded in {tmp_path}/pop1/pbt_tracker.db (launch 1)" in out.splitlines()
    assert ".." not in out
    _, shown, _ = invoke("show", "00_allegro_kuka_regrasp_pbt", "--workdir", given, "--no-sync", columns=200)
    assert f"  script  {tmp_path}/pop1/sbatch_00_allegro_kuka_regrasp_pbt.sh" in shown.splitlines()
    assert ".." not in shown
