"""Several launches of the same experiment names in one workdir: scripts of their own, the newest one seen by
default, `launches`, `forget` and `submit --launch`.

Tests that submit use a stand-in sbatch that prints job ids 101, 102, ... and records nothing, so that they
run without a cluster; they read the record with --no-sync. tests/slurm/test_launches_on_slurm.py runs the
same story on the real Slurm.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.backends.slurm.script import launch_script_path
from pbt_tracker.cli import cli
from tests.conftest import query, read_with

PBT = "tests.fixtures.pbt_echo"
NAMES = ("00_echo_pbt", "01_echo_pbt", "02_echo_pbt")
SBATCH = """#!/bin/sh
# stand-in sbatch: job ids 101, 102, ...
n=$(cat "$0.count" 2>/dev/null || echo 100); n=$((n + 1)); echo $n > "$0.count"
echo $n
"""


def invoke(*argv: str, input: str | None = None, columns: int = 80) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(argv), input=input, env={"COLUMNS": str(columns)})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def work(in_repo: Path, tmp_path: Path, fake_bin) -> Path:
    fake_bin("sbatch", SBATCH)
    return tmp_path / "work"


def launch(work: Path, *extra: str) -> None:
    code, out, err = invoke("submit", "--run", PBT, "--backend", "slurm", "--workdir", str(work), "--pause_between",
                            "0", "--train_dir", str(work.parent / "t"), *extra)
    assert code == 0, out + err


def preview(work: Path) -> None:
    launch(work, "--slurm_print_only", "true")


def report(work: Path, *extra: str) -> list[tuple[str, int, str | None, str, int]]:
    code, out, err = invoke("report", "--workdir", str(work), "--no-sync", "--format", "json", *extra)
    assert code == 0, err
    return [(row["experiment"], row["attempt"], row["job_id"], row["state"], row["launch_id"]) for row in json.loads(out)]


def set_state(work: Path, launch_id: int, state: str) -> None:
    import sqlite3

    with sqlite3.connect(work / "pbt_tracker.db") as connection:
        connection.execute("UPDATE submissions SET state = ? WHERE experiment_id IN "
                           "(SELECT id FROM experiments WHERE launch_id = ?)", (state, launch_id))


# --- scripts of their own ------------------------------------------------------------------------------------------

def test_a_launch_names_a_script_the_record_already_holds_after_its_launch() -> None:
    assert launch_script_path(Path("/w"), "00_x", 7, set()) == Path("/w/sbatch_00_x.L7.sh")
    assert launch_script_path(Path("/w"), "00_x", 7, {"/w/sbatch_00_x.L7.sh", "/w/sbatch_00_x.L7.2.sh"}) == Path(
        "/w/sbatch_00_x.L7.3.sh")


def test_a_second_launch_of_the_same_names_leaves_the_first_launchs_scripts_as_recorded(work: Path) -> None:
    launch(work)
    set_state(work, 1, "COMPLETED")
    launch(work, "--slurm_array")
    db = work / "pbt_tracker.db"
    rows = query(db, "SELECT e.launch_id, e.name, sc.path, sc.text, sc.sha256, s.log_path, s.argv FROM submissions s "
                     "JOIN experiments e ON e.id = s.experiment_id JOIN scripts sc ON sc.id = s.script_id ORDER BY s.id")
    for launch_id, name, path, text, sha256, log, argv in rows:
        suffix = ".sh" if launch_id == 1 else ".L2.sh"
        assert path == str(work.absolute() / f"sbatch_{name}{suffix}")
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == sha256
        assert log == f"{path}-slurm-%j.out" and json.loads(argv)[-3:] == ["--output", log, path]
    ((array_text,),) = query(db, "SELECT text FROM slurm_arrays")
    assert [line.split()[3] for line in array_text.splitlines() if line.startswith(("0)", "1)", "2)"))] == [
        str(work.absolute() / f"sbatch_{name}.L2.sh") for name in NAMES]


# --- the newest launch by default ----------------------------------------------------------------------------------

def test_a_preview_then_the_launch_shows_each_experiment_once(work: Path) -> None:
    preview(work)
    launch(work)
    assert report(work) == [(name, 1, str(101 + i), "SUBMITTED", 2) for i, name in enumerate(NAMES)]
    assert report(work, "--launch", "1") == [(name, 1, None, "PRINT_ONLY", 1) for name in NAMES]
    assert len(report(work, "--all-launches")) == 6


def test_a_preview_after_a_launch_does_not_hide_the_launch(work: Path) -> None:
    launch(work)
    preview(work)
    assert [row[4] for row in report(work)] == [1, 1, 1]


def test_of_two_previews_the_newer_shows_and_of_two_launches_the_one_submitted_last(work: Path) -> None:
    preview(work)
    preview(work)
    assert [row[4] for row in report(work)] == [2, 2, 2]
    launch(work)
    set_state(work, 3, "COMPLETED")
    launch(work)
    preview(work)
    assert [row[4] for row in report(work)] == [4, 4, 4]
    assert [row[4] for row in report(work, "--experiment", NAMES[1])] == [4]


def test_cancel_by_experiment_reaches_the_newest_launch_and_all_reaches_every_launch(work: Path) -> None:
    """Two live launches of one name: refused since, but a record written before may hold them."""
    launch(work)
    set_state(work, 1, "COMPLETED")
    launch(work)
    set_state(work, 1, "RUNNING")
    code, out, _ = invoke("cancel", "--workdir", str(work), "--no-sync", "--dry-run", "--experiment", "00_echo_pbt")
    assert (code, out) == (0, "Would cancel 00_echo_pbt (job 104)\n")
    code, out, _ = invoke("cancel", "--workdir", str(work), "--no-sync", "--dry-run", "--experiment", "00_echo_pbt",
                          "--launch", "1")
    assert (code, out) == (0, "Would cancel 00_echo_pbt (job 101)\n")
    code, out, _ = invoke("cancel", "--workdir", str(work), "--no-sync", "--dry-run", "--all")
    assert out.count("Would cancel") == 6


def test_resubmit_failed_leaves_an_experiment_a_newer_launch_may_still_run(work: Path) -> None:
    launch(work)
    set_state(work, 1, "FAILED")
    launch(work)
    code, out, _ = invoke("resubmit-failed", "--workdir", str(work), "--no-sync", "--dry-run")
    assert (code, out) == (0, "Nothing to resubmit: no experiment's latest attempt failed.\n")
    code, out, _ = invoke("resubmit-failed", "--workdir", str(work), "--no-sync", "--dry-run", "--all-launches")
    assert (code, out) == (0, "".join(f"Left {name}: job {104 + i} of launch 2 may still run; cancel it first.\n"
                                      for i, name in enumerate(NAMES))
                           + "Nothing to resubmit: no experiment's latest attempt failed.\n")


def test_resubmit_failed_over_all_launches_resubmits_each_experiment_once_its_newest(work: Path) -> None:
    launch(work)
    set_state(work, 1, "FAILED")
    launch(work)
    set_state(work, 2, "FAILED")
    code, out, _ = invoke("resubmit-failed", "--workdir", str(work), "--no-sync", "--all-launches",
                          "--experiment", "01_echo_pbt")
    assert (code, out) == (0, "Submitted 01_echo_pbt as job 107\n"
                              "Left 01_echo_pbt of launch 1: a newer launch of it is resubmitted instead.\n")
    assert report(work, "--experiment", "01_echo_pbt") == [("01_echo_pbt", 2, "107", "SUBMITTED", 2)]


def test_a_second_launch_of_names_that_may_still_run_is_refused_and_nothing_is_written(work: Path) -> None:
    launch(work)
    before = query(work / "pbt_tracker.db", "SELECT count(*) FROM launches UNION ALL SELECT count(*) FROM scripts")
    scripts = sorted(path.name for path in work.iterdir())

    assert invoke("submit", "--run", PBT, "--backend", "slurm", "--workdir", str(work), "--pause_between", "0",
                  "--train_dir", str(work.parent / "t")) == (1, f"{read_with()}\nSubmitting 3 experiment(s) of run echo_pbt\n", (
        "Error: 3 experiment(s) of this run may still run in this workdir (00_echo_pbt as job 101 of launch 1, "
        "01_echo_pbt as job 102 of launch 1, 02_echo_pbt as job 103 of launch 1); cancel them first "
        "(`pbt-track cancel --launch 1`), send only their failed ones again (`pbt-track resubmit-failed --launch 1`), "
        "or launch them into new directories with --experiment_suffix\n"))
    assert query(work / "pbt_tracker.db", "SELECT count(*) FROM launches UNION ALL SELECT count(*) FROM scripts") == (
        before)
    assert sorted(path.name for path in work.iterdir()) == scripts


def test_a_launch_under_a_new_suffix_or_after_the_jobs_ended_is_accepted(work: Path) -> None:
    launch(work)
    launch(work, "--experiment_suffix", "b")
    set_state(work, 1, "TIMEOUT")
    launch(work)
    assert [row[4] for row in report(work, "--all-launches")] == [1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_an_unknown_launch_is_refused(work: Path) -> None:
    preview(work)
    assert invoke("report", "--workdir", str(work), "--launch", "9") == (
        1, "", "Error: no launch 9 in this workdir; `pbt-track launches` lists them\n")


# --- launches and forget -------------------------------------------------------------------------------------------

def undated(text: str) -> str:
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "DATE                ", text)  # as wide


def test_launches_lists_one_row_per_launch_with_its_states(work: Path) -> None:
    import socket

    preview(work)
    launch(work)
    code, out, _ = invoke("launches", "--workdir", str(work), "--no-sync")
    host = socket.gethostname()
    assert code == 0
    # 80 columns: one host and one backend, so both columns go; a preview among them keeps print_only
    assert undated(out) == (
        "launch  created               run       experiments  states        print_only\n"
        "------  --------------------  --------  -----------  ------------  ----------\n"
        "     1  DATE                  echo_pbt            3  3 PRINT_ONLY  yes\n"
        "     2  DATE                  echo_pbt            3  3 SUBMITTED   no\n"
        "2 launches\n"
    )
    code, out, _ = invoke("launches", "--workdir", str(work), "--no-sync", columns=200)
    assert [line.split()[3:5] for line in out.splitlines()[2:4]] == [["slurm", host]] * 2


def test_forget_hides_a_launch_from_everything_but_all_launches(work: Path) -> None:
    preview(work)
    launch(work)
    code, out, _ = invoke("forget", "--workdir", str(work), "--no-sync", "--launch", "2")
    assert (code, out) == (0, "Forgot launch 2 (echo_pbt, 3 experiments): only --all-launches shows it now; "
                              "nothing was deleted.\nNote: 3 of its submissions may still run; scancel.sh still "
                              "covers them.\n")
    assert [row[4] for row in report(work)] == [1, 1, 1]
    assert invoke("report", "--workdir", str(work), "--no-sync", "--launch", "2") == (
        1, "", "Error: launch 2 is forgotten; add --all-launches to see it\n")
    assert len(report(work, "--launch", "2", "--all-launches")) == 3
    _, out, _ = invoke("launches", "--workdir", str(work), "--no-sync")
    assert undated(out).splitlines()[-1] == "1 launch"
    _, out, _ = invoke("launches", "--workdir", str(work), "--no-sync", "--all-launches")
    assert [line.split()[-1] for line in out.splitlines()[2:4]] == ["no", "yes"]
    assert invoke("forget", "--workdir", str(work), "--no-sync", "--launch", "2")[1] == (
        "Launch 2 was already forgotten.\n")
    assert query(work / "pbt_tracker.db", "SELECT count(*) FROM submissions") == [(6,)]


def test_purge_asks_and_refuses_while_a_job_may_still_run(work: Path) -> None:
    preview(work)
    launch(work)
    db = work / "pbt_tracker.db"
    assert invoke("forget", "--workdir", str(work), "--no-sync", "--launch", "2", "--purge", "--yes") == (
        1, "", "Error: launch 2 has 3 submission(s) that may still run; cancel them first "
               "(`pbt-track cancel --launch 2 --all-launches`), then purge\n")
    assert invoke("forget", "--workdir", str(work), "--no-sync", "--launch", "1", "--purge", input="n\n") == (
        1, "Delete launch 1 (echo_pbt, 3 experiments) from the record? [y/N]: n\n", "Aborted.\n")
    assert query(db, "SELECT count(*) FROM experiments") == [(6,)]
    assert invoke("forget", "--workdir", str(work), "--no-sync", "--launch", "1", "--purge", input="y\n")[:2] == (
        0, "Delete launch 1 (echo_pbt, 3 experiments) from the record? [y/N]: y\n"
           "Deleted launch 1 from the record; its scripts and logs are still on disk.\n")
    assert query(db, "SELECT DISTINCT launch_id FROM experiments") == [(2,)]
    assert query(db, "SELECT count(*) FROM submissions") == [(3,)]
    assert (work / "sbatch_00_echo_pbt.sh").exists()


# --- submit --launch -----------------------------------------------------------------------------------------------

def test_submit_launch_sends_the_previews_recorded_scripts_as_the_next_attempt(work: Path) -> None:
    preview(work)
    shown = query(work / "pbt_tracker.db", "SELECT script_id, argv, log_path FROM submissions ORDER BY id")
    code, out, _ = invoke("submit", "--launch", "1", "--workdir", str(work))
    assert code == 0
    assert [line for line in out.splitlines() if line.startswith("Submitted")] == [
        f"Submitted {name} as job {101 + i}" for i, name in enumerate(NAMES)]
    assert out.splitlines()[-2:] == [f"Recorded in {work.absolute() / 'pbt_tracker.db'} (launch 1)", "Done!"]
    sent = query(work / "pbt_tracker.db", "SELECT script_id, argv, log_path, attempt FROM submissions WHERE attempt = 2")
    uuid = query(work / "pbt_tracker.db", "SELECT uuid FROM launches")[0][0]
    assert [(script, json.loads(argv), log) for script, argv, log, _ in sent] == [
        (script, ["sbatch", f"--comment=pbt-track:{uuid}:{4 + i}",
                  f"{json.loads(argv)[1]}.pbt-{uuid[:8]}-{4 + i}", *json.loads(argv)[2:]], log)
        for i, (script, argv, log) in enumerate(shown)]
    assert report(work) == [(name, 2, str(101 + i), "SUBMITTED", 1) for i, name in enumerate(NAMES)]
    set_state(work, 1, "COMPLETED")  # nothing left for sync to ask the scheduler about
    assert invoke("submit", "--launch", "1", "--workdir", str(work)) == (
        1, "", "Error: launch 1 was already submitted; `pbt-track report --launch 1` shows its jobs\n")


def test_submit_launch_refuses_what_is_not_an_untouched_preview(work: Path) -> None:
    launch(work)
    set_state(work, 1, "COMPLETED")  # nothing left for sync to ask the scheduler about
    preview(work)
    assert invoke("submit", "--launch", "1", "--workdir", str(work)) == (
        1, "", "Error: launch 1 is not a preview (--slurm_print_only true); `pbt-track resubmit-failed --launch 1` "
               "runs its failed experiments again\n")
    assert invoke("submit", "--launch", "2", "--workdir", str(work), "--slurm_partition", "gpu") == (
        2, "", "Error: --launch takes no option but --workdir; --slurm_partition was recorded with the preview "
               "(see `cli submit --help`)\n")
    script = work / "sbatch_00_echo_pbt.L2.sh"
    script.write_text(script.read_text() + "echo changed\n")
    assert invoke("submit", "--launch", "2", "--workdir", str(work)) == (
        1, "", f"Error: 1 script(s) changed on disk since the preview: {script.absolute()}; restore them, or launch "
               "the run again\n")


@pytest.mark.slow  # upgrades a record through every migration: two seconds, kept out of the quick tier
def test_submit_launch_of_a_preview_older_than_launch_uuids_sends_its_jobs_untagged(work: Path) -> None:
    """tests/data/schema_0001.db's preview: its launch has no uuid, so no job may carry `pbt-track:None:N`."""
    import sqlite3

    work.mkdir()
    db = work / "pbt_tracker.db"
    db.write_bytes((Path(__file__).parent / "data" / "schema_0001.db").read_bytes())
    connection = sqlite3.connect(db)
    with connection:  # its scripts were written under /tmp/old: here they are written back from the record
        connection.execute("UPDATE scripts SET path = replace(path, '/tmp/old/', ?)", (f"{work}/",))
    connection.close()
    code, out, err = invoke("submit", "--launch", "1", "--workdir", str(work))
    assert code == 0, out + err
    sent = [json.loads(argv) for (argv,) in query(db, "SELECT argv FROM submissions WHERE attempt = 2 ORDER BY id")]
    assert len(sent) == 3
    assert not [arg for argv in sent for arg in argv if arg.startswith("--comment")]
