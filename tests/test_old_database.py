"""A workdir that pbt-track wrote at commit b02cb14, before its modules moved into folders, works with this code.

tests/data/b02cb14_fixture.tar.gz is a real workdir made by the pbt-track of commit b02cb14 (installed in a venv
of its own from a worktree of that commit) with tests/data/make_b02cb14_fixture.sh, which rebuilds it:

  launch 1  toy_pbt, local processes: the shipped demo, four policies; policy 2 crashed (exit 3) and
            `pbt-track watch --resume-failed` resumed it from its checkpoint as attempt 2 (origin resubmit)
  launch 2  toy_chain, Slurm, template timeout_continue with a 5 s limit: each job that reached its limit sent
            its own continuation (origin continue, parent_submission_id its predecessor); policy 0 finished in
            its third job, policy 1 crashed in its second
  launch 3  pbt-track-keeper, Slurm: `watch --submit --resume-failed --max-attempts 2` as a job (run module
            pbt_tracker.keeper); it gave policy 1 of toy_chain up
  launch 4  toy_tiny, local processes: policy 1 crashed and is left FAILED; a keeper killed with SIGKILL while
            it watched this launch left its lease row behind

The record keeps absolute paths, so the archive is unpacked where it was made, ROOT; these tests own that
path, and take a lock on it so that two test runs on one machine take turns. Everything in it is final: no
command here may ask Slurm about any of its jobs. The expected texts below are what the old pbt-track printed
for the same record; rebuilding the archive changes job ids and times, and then these texts with it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pbt_tracker.cli import cli
from pbt_tracker.store import schema
from tests.conftest import REPO_ROOT, query

ARCHIVE = REPO_ROOT / "tests" / "data" / "b02cb14_fixture.tar.gz"
ROOT = Path("/tmp/pbt-track-b02cb14-fixture")
WORKDIR = ROOT / "workdir"
DB = WORKDIR / "pbt_tracker.db"
OLD_SCHEMA = "0009"
BIN = Path(sys.executable).parent
PBT_TRACK = str(BIN / "pbt-track")
SCHEDULER_COMMANDS = ("squeue", "sacct", "scontrol", "sbatch", "scancel", "sinfo")

REPORT = """\
run        experiment    attempt  job_id  state      exit_code  elapsed  node  log
---------  ------------  -------  ------  ---------  ---------  -------  ----  -------------------------------------------------------------------------------------------
toy_pbt    00_toy_pbt          1  25083   COMPLETED          0  0:00:15  vm    /tmp/pbt-track-b02cb14-fixture/workdir/00_toy_pbt.1.log
toy_pbt    01_toy_pbt          1  25121   COMPLETED          0  0:00:15  vm    /tmp/pbt-track-b02cb14-fixture/workdir/01_toy_pbt.1.log
toy_pbt    02_toy_pbt          2  25876   COMPLETED          0  0:00:12  vm    /tmp/pbt-track-b02cb14-fixture/workdir/02_toy_pbt.2.log
toy_pbt    03_toy_pbt          1  25201   COMPLETED          0  0:00:15  vm    /tmp/pbt-track-b02cb14-fixture/workdir/03_toy_pbt.1.log
toy_chain  00_toy_chain        3  872     COMPLETED          0  0:00:02  vm    /tmp/pbt-track-b02cb14-fixture/workdir/continuations/sbatch_00_toy_chain.3.sh-slurm-872.out
toy_chain  01_toy_chain        2  870     FAILED             3  0:00:02  vm    /tmp/pbt-track-b02cb14-fixture/workdir/continuations/sbatch_01_toy_chain.2.sh-slurm-870.out
toy_tiny   00_toy_tiny         1  27989   COMPLETED          0  0:00:01  vm    /tmp/pbt-track-b02cb14-fixture/workdir/00_toy_tiny.1.log
toy_tiny   01_toy_tiny         1  28111   FAILED             3  0:00:00  vm    /tmp/pbt-track-b02cb14-fixture/workdir/01_toy_tiny.1.log
8 experiments: 6 COMPLETED, 2 FAILED
keeper job 869 COMPLETED (attempt 1; --run pbt-track-keeper shows it)
keeper 02_toy_pbt: resume at 2026-12-07T15:53:05Z: attempt 1 ended FAILED; resumed as attempt 2
keeper 01_toy_chain: give-up at 2026-12-07T15:53:29Z: attempt 2 ended FAILED; it was the last of --max-attempts 2
"""  # noqa: E501

REPORT_PBT = """\
run        experiment    attempt  job_id  state      exit_code  elapsed  node  policy  iteration  objective   best  params                                    log
---------  ------------  -------  ------  ---------  ---------  -------  ----  ------  ---------  ---------  -----  ----------------------------------------  -------------------------------------------------------------------------------------------
toy_pbt    03_toy_pbt          1  25201   COMPLETED          0  0:00:15  vm        3*         10      99.77  99.88  learning_rate=0.02362 noise_scale=2.861   /tmp/pbt-track-b02cb14-fixture/workdir/03_toy_pbt.1.log
toy_pbt    02_toy_pbt          2  25876   COMPLETED          0  0:00:12  vm         2         10      99.48  99.48  learning_rate=0.0148 noise_scale=2.354    /tmp/pbt-track-b02cb14-fixture/workdir/02_toy_pbt.2.log
toy_pbt    00_toy_pbt          1  25083   COMPLETED          0  0:00:15  vm         0         10      99.31  99.31  learning_rate=0.01547 noise_scale=2.174   /tmp/pbt-track-b02cb14-fixture/workdir/00_toy_pbt.1.log
toy_pbt    01_toy_pbt          1  25121   COMPLETED          0  0:00:15  vm         1         10      98.76  98.76  learning_rate=0.01622 noise_scale=2.639   /tmp/pbt-track-b02cb14-fixture/workdir/01_toy_pbt.1.log
toy_chain  00_toy_chain        3  872     COMPLETED          0  0:00:02  vm         0         10      94.94  94.94  learning_rate=0.008059 noise_scale=1.583  /tmp/pbt-track-b02cb14-fixture/workdir/continuations/sbatch_00_toy_chain.3.sh-slurm-872.out
toy_chain  01_toy_chain        2  870     FAILED             3  0:00:02  vm         1          5      80.96  80.96  learning_rate=0.007845 noise_scale=1.166  /tmp/pbt-track-b02cb14-fixture/workdir/continuations/sbatch_01_toy_chain.2.sh-slurm-870.out
toy_tiny   00_toy_tiny         1  27989   COMPLETED          0  0:00:01  vm         0          3       56.4   56.4  learning_rate=0.006351 noise_scale=1.384  /tmp/pbt-track-b02cb14-fixture/workdir/00_toy_tiny.1.log
toy_tiny   01_toy_tiny         1  28111   FAILED             3  0:00:00  vm         1          1      30.59  30.59  learning_rate=0.007845 noise_scale=1.166  /tmp/pbt-track-b02cb14-fixture/workdir/01_toy_tiny.1.log
8 experiments: 6 COMPLETED, 2 FAILED
best: policy 3 (03_toy_pbt), objective 99.77
keeper job 869 COMPLETED (attempt 1; --run pbt-track-keeper shows it)
keeper 02_toy_pbt: resume at 2026-12-07T15:53:05Z: attempt 1 ended FAILED; resumed as attempt 2
keeper 01_toy_chain: give-up at 2026-12-07T15:53:29Z: attempt 2 ended FAILED; it was the last of --max-attempts 2
"""  # noqa: E501

# Every attempt: (experiment, attempt, job id, state, exit code, origin, the attempt it continues).
ATTEMPTS = [
    ("00_toy_pbt", 1, "25083", "COMPLETED", 0, None, None),
    ("01_toy_pbt", 1, "25121", "COMPLETED", 0, None, None),
    ("02_toy_pbt", 1, "25159", "FAILED", 3, None, None),
    ("02_toy_pbt", 2, "25876", "COMPLETED", 0, "resubmit", 1),
    ("03_toy_pbt", 1, "25201", "COMPLETED", 0, None, None),
    ("00_toy_chain", 1, "867", "FAILED", 124, None, None),
    ("00_toy_chain", 2, "871", "FAILED", 124, "continue", 1),
    ("00_toy_chain", 3, "872", "COMPLETED", 0, "continue", 2),
    ("01_toy_chain", 1, "868", "FAILED", 124, None, None),
    ("01_toy_chain", 2, "870", "FAILED", 3, "continue", 1),
    ("pbt-track-keeper", 1, "869", "COMPLETED", 0, None, None),
    ("00_toy_tiny", 1, "27989", "COMPLETED", 0, None, None),
    ("01_toy_tiny", 1, "28111", "FAILED", 3, None, None),
]

SHOW_CRASHED_POLICY = """\
02_toy_pbt  run toy_pbt  launch 1  backend processes
command  python -m pbt_tracker.examples.toy_pbt_train pbt.num_policies=4 pbt.workspace=workspace_toy_pbt pbt.interval_steps=1000 max_iterations=10 pbt.fail_once_policy=2 pbt.policy_idx=2 experiment=02_toy_pbt hydra.run.dir=/tmp/pbt-track-b02cb14-fixture/train/toy_pbt/toy_pbt_
PBT policy 2: iteration 10, objective 99.48, best 99.48

attempt 1  job 25159  FAILED  exit 3  node vm
  submitted 2026-12-07T15:52:49Z  started 2026-12-07T15:52:49Z  ended 2026-12-07T15:52:53Z
  script  -
  sbatch  /work/old-b02cb14/.venv/bin/python3 -m pbt_tracker.examples.toy_pbt_train pbt.num_policies=4 pbt.workspace=workspace_toy_pbt pbt.interval_steps=1000 max_iterations=10 pbt.fail_once_policy=2 pbt.policy_idx=2 experiment=02_toy_pbt hydra.run.dir=/tmp/pbt-track-b02cb14-fixture/train/toy_pbt/toy_pbt_
  log     /tmp/pbt-track-b02cb14-fixture/workdir/02_toy_pbt.1.log
  states
    2026-12-07T15:52:47Z  PENDING  queued locally
    2026-12-07T15:52:49Z  RUNNING  pid 25159
    2026-12-07T15:52:53Z  FAILED

attempt 2  job 25876  COMPLETED  exit 0  node vm
  submitted 2026-12-07T15:53:05Z  started 2026-12-07T15:53:05Z  ended 2026-12-07T15:53:17Z
  script  -
  sbatch  /work/old-b02cb14/.venv/bin/python3 -m pbt_tracker.examples.toy_pbt_train pbt.num_policies=4 pbt.workspace=workspace_toy_pbt pbt.interval_steps=1000 max_iterations=10 pbt.fail_once_policy=2 pbt.policy_idx=2 experiment=02_toy_pbt hydra.run.dir=/tmp/pbt-track-b02cb14-fixture/train/toy_pbt/toy_pbt_ ++pbt_restart=True +full_experiment_name=02_toy_pbt_07-15-52-49_244122180 checkpoint=/tmp/pbt-track-b02cb14-fixture/train/toy_pbt/toy_pbt_/runs/workspace_toy_pbt/002/000002.pth toy.learning_rate=0.014804938083005174 toy.noise_scale=2.354381161845217
  log     /tmp/pbt-track-b02cb14-fixture/workdir/02_toy_pbt.2.log
  states
    2026-12-07T15:53:05Z  PENDING  queued locally
    2026-12-07T15:53:05Z  RUNNING  pid 25876
    2026-12-07T15:53:17Z  COMPLETED
"""  # noqa: E501

# The chain that timeout_continue built on Slurm, as `show` tells it: each continuation names its checkpoint.
SHOW_CHAIN_CONTINUATIONS = [
    "    2026-12-07T15:53:25Z  SUBMITTING  continue: continues policy 0 from iteration 4 "
    "(checkpoint /tmp/pbt-track-b02cb14-fixture/train/toy_chain/toy_chain_/runs/ws/000/000004.pth)",
    "    2026-12-07T15:53:30Z  SUBMITTING  continue: continues policy 0 from iteration 8 "
    "(checkpoint /tmp/pbt-track-b02cb14-fixture/train/toy_chain/toy_chain_/runs/ws/000/000008.pth)",
]

LAUNCHES = """\
launch  created               run               backend    host  experiments  states                 print_only
------  --------------------  ----------------  ---------  ----  -----------  ---------------------  ----------
     1  2026-12-07T15:52:47Z  toy_pbt           processes  vm              4  4 COMPLETED            no
     2  2026-12-07T15:53:19Z  toy_chain         slurm      vm              2  1 COMPLETED, 1 FAILED  no
     3  2026-12-07T15:53:19Z  pbt-track-keeper  slurm      vm              1  1 COMPLETED            no
     4  2026-12-07T15:53:37Z  toy_tiny          processes  vm              2  1 COMPLETED, 1 FAILED  no
4 launches
"""  # noqa: E501

RESUBMIT_DRY_RUN = """\
Would resubmit 01_toy_chain as attempt 3: continues policy 1 from iteration 5 (checkpoint /tmp/pbt-track-b02cb14-fixture/train/toy_chain/toy_chain_/runs/ws/001/000005.pth)
Would resubmit 01_toy_tiny as attempt 2: continues policy 1 from iteration 1 (checkpoint /tmp/pbt-track-b02cb14-fixture/train/toy_tiny/toy_tiny_/runs/ws/001/000001.pth)
"""  # noqa: E501

TINY_CHECKPOINT = "/tmp/pbt-track-b02cb14-fixture/train/toy_tiny/toy_tiny_/runs/ws/001/000001.pth"
CHAIN_CHECKPOINT = "/tmp/pbt-track-b02cb14-fixture/train/toy_chain/toy_chain_/runs/ws/001/000005.pth"
NOTHING_TO_SYNC = "Asked about 0 job(s) in 0 scheduler call(s); 0 changed.\n"
OLD_KEEPER_DECISIONS = [
    ("02_toy_pbt", 1, "resume", "attempt 1 ended FAILED; resumed as attempt 2"),
    (None, None, "finished", "every experiment is final (4 COMPLETED)"),
    ("01_toy_chain", 2, "give-up", "attempt 2 ended FAILED; it was the last of --max-attempts 2"),
    (None, None, "finished", "every experiment is final (5 COMPLETED, 1 FAILED)"),
]


def _mtime_ns(member: tarfile.TarInfo) -> int:
    """The file's mtime to the nanosecond, from its pax header (TarInfo.mtime is a float and rounds it)."""
    seconds, _, fraction = member.pax_headers["mtime"].partition(".")
    return int(seconds) * 1_000_000_000 + int((fraction + "000000000")[:9])


def unpack() -> None:
    """The archive at its recorded path, with the files' exact mtimes: sync keys the iteration files it copied
    by path and mtime, and a rounded mtime would read as a file it never saw."""
    shutil.rmtree(ROOT, ignore_errors=True)
    ROOT.mkdir(parents=True)
    with tarfile.open(ARCHIVE) as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(ROOT, filter="data")
        else:  # Python 3.11 before 3.11.4; the archive is ours
            archive.extractall(ROOT)
        for member in archive.getmembers():
            if member.isfile():
                os.utime(ROOT / member.name, ns=(_mtime_ns(member),) * 2)
    DB.chmod(0o600)  # as pbt-track makes it: a record readable by everyone gets a warning line


class _Unpacked:
    """Whether ROOT holds the archive as it is: tests that only read share one unpacking (it takes a while)."""

    pristine = False
    digest = ""


@pytest.fixture(scope="module")
def fixture_root() -> Iterator[Path]:
    """ROOT is this module's while it runs: a second test run on the machine waits for it."""
    with open(f"{ROOT}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _Unpacked.pristine = False
        try:
            yield ROOT
        finally:
            shutil.rmtree(ROOT, ignore_errors=True)


@pytest.fixture(autouse=True)
def _plain_output(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PBT_TRACK_WORKDIR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "250")


@pytest.fixture
def old_record(fixture_root: Path) -> Iterator[Path]:
    """The old workdir, for a test that only reads it."""
    if not _Unpacked.pristine or digest(DB) != _Unpacked.digest:
        unpack()
        _Unpacked.pristine, _Unpacked.digest = True, digest(DB)
    yield WORKDIR
    _Unpacked.pristine = _Unpacked.pristine and digest(DB) == _Unpacked.digest


@pytest.fixture
def old_workdir(fixture_root: Path) -> Path:
    """The old workdir, unpacked afresh, for a test that may change it."""
    unpack()
    _Unpacked.pristine = False
    return WORKDIR


@pytest.fixture
def scheduler_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Slurm's commands first on PATH as stand-ins that write down every call and fail: none may be called."""
    directory = tmp_path / "scheduler"
    directory.mkdir()
    log = tmp_path / "scheduler-calls"
    for name in SCHEDULER_COMMANDS:
        program = directory / name
        program.write_text(f'#!/bin/sh\necho "{name} $*" >> {log}\nexit 1\n')
        program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")
    return log


def pbt(*argv: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(argv), catch_exceptions=False)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def schema_revision() -> str:
    [(revision,)] = query(DB, "SELECT version_num FROM alembic_version")
    return revision


def attempts() -> list[tuple]:
    return query(DB, "SELECT e.name, s.attempt, s.job_id, s.state, s.exit_code, s.origin, p.attempt "
                     "FROM submissions s JOIN experiments e ON e.id = s.experiment_id "
                     "LEFT JOIN submissions p ON p.id = s.parent_submission_id ORDER BY e.id, s.attempt")


def keeper_decisions() -> list[tuple]:
    return query(DB, "SELECT e.name, s.attempt, k.action, k.reason FROM keeper_decisions k "
                     "LEFT JOIN experiments e ON e.id = k.experiment_id "
                     "LEFT JOIN submissions s ON s.id = k.submission_id ORDER BY k.id")


def whole_record(path: Path = DB) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return list(connection.iterdump())
    finally:
        connection.close()


def only_upgraded(scratch: Path) -> list[str]:
    """The record as the migrations since b02cb14 alone leave it: all that a command which changes nothing may do.

    Any command upgrades an older schema first (a read too), so where the chain has grown since, that is the
    one change allowed; it is made on a copy, to compare the command's result with.
    """
    copy = scratch / "only-upgraded.db"
    shutil.copyfile(DB, copy)
    schema.upgrade(copy)
    return whole_record(copy)


def lease_expires(when: str) -> None:
    """The killed keeper's lease row as it was written, with only its end moved: the wall clock decides whether
    a lease has run out, and these tests must not depend on when they run."""
    connection = sqlite3.connect(DB)
    try:
        with connection:
            connection.execute("UPDATE keeper_lease SET expires_at = " + when)
    finally:
        connection.close()


def the_killed_keepers_lease_has_run_out() -> None:
    lease_expires("acquired_at")


# --- the archive itself ---------------------------------------------------------------------------------------


def test_the_fixture_is_small_and_holds_the_record_and_what_a_resume_needs(old_record: Path) -> None:
    assert ARCHIVE.stat().st_size < 1_000_000
    assert not (WORKDIR / "pbt_tracker.db-wal").exists()
    assert (ROOT / "train/toy_tiny/toy_tiny_/runs/ws/001/000001.pth").is_file()
    assert (ROOT / "train/toy_chain/toy_chain_/runs/ws/001/000005.pth").is_file()
    assert (WORKDIR / "continuations" / "sbatch_01_toy_chain.2.sh").is_file()
    assert schema_revision() == OLD_SCHEMA
    assert OLD_SCHEMA in schema.revisions()  # else this code would refuse it as written by a newer pbt-track
    assert attempts() == ATTEMPTS
    assert keeper_decisions() == OLD_KEEPER_DECISIONS
    [(holder, host, pid)] = query(DB, "SELECT holder, host, pid FROM keeper_lease")
    assert holder.startswith(f"{host}:{pid}:")


# --- reading it -----------------------------------------------------------------------------------------------


def test_report_shows_every_experiments_latest_attempt_and_the_keepers_last_word(
        old_record: Path, tmp_path: Path) -> None:
    before, expected = digest(DB), only_upgraded(tmp_path)
    result = pbt("report", "--workdir", str(old_record), "--no-sync")
    assert result.exit_code == 0, result.output
    assert result.output == REPORT
    if OLD_SCHEMA == schema.head():
        assert digest(DB) == before  # a read changes nothing, not even to upgrade
    assert whole_record() == expected  # nothing but the schema's upgrade


def test_report_all_attempts_lists_every_attempt_of_the_old_record(old_record: Path) -> None:
    result = pbt("report", "--workdir", str(old_record), "--no-sync", "--all-attempts", "-o",
                 "experiment,attempt,job_id,state")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split() for line in lines[2:]] == [
        ["00_toy_pbt", "1", "25083", "COMPLETED"],
        ["01_toy_pbt", "1", "25121", "COMPLETED"],
        ["02_toy_pbt", "1", "25159", "FAILED"],
        ["02_toy_pbt", "2", "25876", "COMPLETED"],
        ["03_toy_pbt", "1", "25201", "COMPLETED"],
        ["00_toy_chain", "1", "867", "FAILED"],
        ["00_toy_chain", "2", "871", "FAILED"],
        ["00_toy_chain", "3", "872", "COMPLETED"],
        ["01_toy_chain", "1", "868", "FAILED"],
        ["01_toy_chain", "2", "870", "FAILED"],
        ["00_toy_tiny", "1", "27989", "COMPLETED"],
        ["01_toy_tiny", "1", "28111", "FAILED"],
        ["12", "attempts:", "6", "COMPLETED,", "6", "FAILED"],
        *[line.split() for line in lines[2 + 13:]],  # the keeper's job and lines: see the next test
    ]
    assert lines[2 + 13:] == REPORT.splitlines()[-3:]


def test_report_all_attempts_names_each_keeper_decision_once(old_record: Path) -> None:
    result = pbt("report", "--workdir", str(old_record), "--no-sync", "--all-attempts")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[2 + 13 + 1:] == REPORT.splitlines()[-2:]


def test_report_pbt_reads_the_policies_progress_from_the_old_workspaces(old_record: Path) -> None:
    result = pbt("report", "--workdir", str(old_record), "--no-sync", "--pbt")
    assert result.exit_code == 0, result.output
    assert result.output == REPORT_PBT


def test_show_tells_the_crashed_policy_and_its_continuation_from_its_checkpoint(old_record: Path) -> None:
    by_name = pbt("show", "02_toy_pbt", "--workdir", str(old_record), "--no-sync")
    assert by_name.exit_code == 0, by_name.output
    assert by_name.output == SHOW_CRASHED_POLICY
    by_policy = pbt("show", "--policy", "2", "--workdir", str(old_record), "--no-sync")  # only toy_pbt has one
    assert by_policy.exit_code == 0, by_policy.output
    assert by_policy.output == SHOW_CRASHED_POLICY


def test_show_follows_the_chain_that_the_jobs_sent_themselves(old_record: Path) -> None:
    result = pbt("show", "00_toy_chain", "--workdir", str(old_record), "--no-sync")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line for line in lines if "SUBMITTING  continue:" in line] == SHOW_CHAIN_CONTINUATIONS
    assert [line for line in lines if line.startswith("attempt ")] == [
        "attempt 1  job 867  FAILED  exit 124  node vm",
        "attempt 2  job 871  FAILED  exit 124  node vm",
        "attempt 3  job 872  COMPLETED  exit 0  node vm",
    ]
    assert "  script  /tmp/pbt-track-b02cb14-fixture/workdir/continuations/sbatch_00_toy_chain.3.sh" in lines


def test_launches_lists_the_four_old_launches(old_record: Path) -> None:
    result = pbt("launches", "--workdir", str(old_record), "--no-sync")
    assert result.exit_code == 0, result.output
    assert result.output == LAUNCHES


# --- what it would resume -------------------------------------------------------------------------------


def test_resubmit_failed_dry_run_continues_each_failed_policy_from_its_latest_checkpoint(
        old_record: Path, tmp_path: Path) -> None:
    before = only_upgraded(tmp_path)
    result = pbt("resubmit-failed", "--workdir", str(old_record), "--no-sync", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output == RESUBMIT_DRY_RUN
    assert whole_record() == before


# --- the names it recorded ------------------------------------------------------------------------------------

IMPORT_PROBE = """
import importlib, importlib.util, sys
for kind, name, run_name in zip(*[iter(sys.argv[1:])] * 3):
    if kind == "run":  # a launch's run module: importable, and (but for the keeper's) its RUN_DESCRIPTION
        module = importlib.import_module(name)
        if run_name != "pbt-track-keeper":
            assert module.RUN_DESCRIPTION.run_name == run_name, (name, module.RUN_DESCRIPTION.run_name)
    else:  # a module a recorded command runs with `python -m`: a package runs its __main__
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations is not None:
            spec = importlib.util.find_spec(name + ".__main__")
        assert spec is not None, name
    print(kind, name)
"""


def test_every_module_name_the_old_record_holds_still_resolves(old_record: Path) -> None:
    launches = query(DB, "SELECT run_module, run_name, cwd FROM launches ORDER BY id")
    assert [(module, run) for module, run, _cwd in launches] == [
        ("pbt_tracker.examples.toy_pbt", "toy_pbt"), ("toy_chain", "toy_chain"),
        ("pbt_tracker.keeper", "pbt-track-keeper"), ("toy_tiny", "toy_tiny")]
    commands = [cmd for (cmd,) in query(DB, "SELECT cmd FROM experiments")]
    commands += [text for (text,) in query(DB, "SELECT text FROM scripts")]
    run_with_m = sorted({words[words.index("-m") + 1] for words in (line.split() for text in commands
                                                                    for line in text.splitlines()) if "-m" in words})
    assert run_with_m == ["pbt_tracker", "pbt_tracker.examples.toy_pbt_train"]
    args = [arg for module, run, _cwd in launches for arg in ("run", module, run)]
    args += [arg for module in run_with_m for arg in ("-m", module, "")]
    [cwd] = {cwd for _module, _run, cwd in launches}  # the users' own run modules are found from there
    done = subprocess.run([sys.executable, "-c", IMPORT_PROBE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": cwd, "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"{kind} {module}" for kind, module in zip(args[::3], args[1::3])]


# --- syncing it -----------------------------------------------------------------------------------------------


def test_sync_asks_the_scheduler_nothing_and_changes_nothing_when_every_job_is_final(
        old_workdir: Path, scheduler_log: Path, tmp_path: Path) -> None:
    before = only_upgraded(tmp_path)
    done = subprocess.run([PBT_TRACK, "sync", "--workdir", str(old_workdir)], capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, NOTHING_TO_SYNC, "")
    report = pbt("report", "--workdir", str(old_workdir))  # a report syncs first
    assert report.exit_code == 0, report.output
    assert report.output == REPORT
    assert not scheduler_log.exists(), scheduler_log.read_text()
    assert whole_record() == before  # no state, no iteration copied twice, no sync_runs row
    assert schema_revision() == schema.head()  # upgraded where migrations came since, else accepted as it is


# --- resuming it ----------------------------------------------------------------------------------------------


@pytest.mark.slow  # a second or more of real processes: kept out of the quick tier
def test_resubmit_failed_resumes_the_old_failed_policy_on_local_processes(
        old_workdir: Path, scheduler_log: Path) -> None:
    done = subprocess.run([PBT_TRACK, "resubmit-failed", "--workdir", str(old_workdir), "--run", "toy_tiny"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"01_toy_tiny: continues policy 1 from iteration 1 (checkpoint {TINY_CHECKPOINT})"
    assert lines[1].startswith("Started 01_toy_tiny (pid ")
    assert lines[2:] == ["Process finished 01_toy_tiny: COMPLETED (exit code 0)"]
    [(argv, origin, parent)] = query(
        DB, "SELECT s.argv, s.origin, p.attempt FROM submissions s JOIN experiments e ON e.id = s.experiment_id "
            "JOIN submissions p ON p.id = s.parent_submission_id WHERE e.name = '01_toy_tiny' AND s.attempt = 2")
    assert (origin, parent) == ("resubmit", 1)
    assert f"checkpoint={TINY_CHECKPOINT}" in argv and "++pbt_restart=True" in argv
    assert sys.executable in argv  # this interpreter, not the old venv's that the first attempt ran under
    log = (old_workdir / "01_toy_tiny.2.log").read_text()
    assert f"Policy 1: PBT init. Env frames: 1000, pbt_iteration: 1, checkpoint {TINY_CHECKPOINT}," in log
    assert "Policy 1: done after iteration 3" in log
    assert schema_revision() == schema.head()
    assert not scheduler_log.exists(), scheduler_log.read_text()


# --- keeping it -----------------------------------------------------------------------------------------------


def test_watch_once_finds_nothing_to_keep_and_hands_the_run_out_lease_back(
        old_workdir: Path, scheduler_log: Path) -> None:
    the_killed_keepers_lease_has_run_out()
    result = pbt("watch", "--once", "--workdir", str(old_workdir), "--max-attempts", "2")
    assert (result.exit_code, result.stdout) == (1, "Nothing to keep: every experiment of this workdir is final "
                                                    "(6 COMPLETED, 2 FAILED).\n")
    assert result.stderr.startswith("Error: 2 experiment(s) ended without completing: ")
    assert query(DB, "SELECT * FROM keeper_lease") == []  # taken over, then released
    assert keeper_decisions() == OLD_KEEPER_DECISIONS
    assert not scheduler_log.exists(), scheduler_log.read_text()


def test_watch_once_leaves_the_workdir_to_the_old_keeper_while_its_lease_holds(old_workdir: Path) -> None:
    """The old keeper is taken for alive: its host is not this one, so its process cannot be seen from here
    (one on this host whose process is gone is not waited for)."""
    lease_expires("'2999-01-01 00:00:00.000000'")
    connection = sqlite3.connect(DB)
    with connection:
        connection.execute("UPDATE keeper_lease SET host = 'another-node'")
    connection.close()
    [(pid, host)] = query(DB, "SELECT pid, host FROM keeper_lease")
    result = pbt("watch", "--once", "--workdir", str(old_workdir))
    assert result.exit_code == 1
    assert result.output == (f"Error: the keeper with pid {pid} on {host} holds this workdir's lease until "
                             "2999-01-01T00:00:00Z; let it work, or stop it and retry after that time\n")
    assert keeper_decisions() == OLD_KEEPER_DECISIONS


def test_watch_once_reads_the_old_keepers_decisions_and_does_not_give_up_twice(
        old_workdir: Path, scheduler_log: Path) -> None:
    the_killed_keepers_lease_has_run_out()
    result = pbt("watch", "--once", "--workdir", str(old_workdir), "--run", "toy_chain", "--resume-failed",
                 "--max-attempts", "2")
    assert (result.exit_code, result.stdout) == (1, "Nothing to keep: every experiment of this workdir is final "
                                                    "(1 COMPLETED, 1 FAILED).\n")
    assert result.stderr == ("Error: 1 experiment(s) ended without completing: 01_toy_chain FAILED (attempt 2); "
                             "`pbt-track report` shows why, `pbt-track resubmit-failed` (or `watch --resume-failed`) "
                             "runs them again\n")
    assert keeper_decisions() == OLD_KEEPER_DECISIONS
    assert not scheduler_log.exists(), scheduler_log.read_text()


def test_watch_once_resumes_the_old_failed_policy_from_its_checkpoint(old_workdir: Path, scheduler_log: Path) -> None:
    the_killed_keepers_lease_has_run_out()
    result = pbt("watch", "--once", "--workdir", str(old_workdir), "--run", "toy_tiny", "--resume-failed")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:2] == [
        "01_toy_tiny: resume: attempt 1 ended FAILED; resumed as attempt 2",
        f"01_toy_tiny: continues policy 1 from iteration 1 (checkpoint {TINY_CHECKPOINT})",
    ]
    assert lines[2].startswith("Started 01_toy_tiny (pid ")
    assert lines[3:] == ["Process finished 01_toy_tiny: COMPLETED (exit code 0)"]
    assert keeper_decisions() == [*OLD_KEEPER_DECISIONS,
                                  ("01_toy_tiny", 1, "resume", "attempt 1 ended FAILED; resumed as attempt 2")]
    name, attempt, _job, state, exit_code, origin, parent = attempts()[-1]
    assert (name, attempt, state, exit_code, origin, parent) == ("01_toy_tiny", 2, "COMPLETED", 0, "keeper", 1)
    assert query(DB, "SELECT * FROM keeper_lease") == []
    assert not scheduler_log.exists(), scheduler_log.read_text()


# --- on the real cluster --------------------------------------------------------------------------------------


def _slurm_env() -> dict[str, str]:
    # The continuation runs `python -m ...` and, at its limit, `pbt-track continue`, from the environment
    # sbatch passes on: this code's.
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.slurm
def test_the_old_slurm_chain_is_synced_resumed_and_continued_by_this_code_on_the_real_cluster(
        old_workdir: Path) -> None:
    from tests.slurm.conftest import _cluster_problem, _must_run

    problem = _cluster_problem()
    if problem is not None:
        if _must_run():
            pytest.fail(f"the real-Slurm tests must run here, but {problem}", pytrace=False)
        pytest.skip(problem)
    env = _slurm_env()
    synced = subprocess.run([PBT_TRACK, "sync", "--workdir", str(old_workdir)], env=env, capture_output=True,
                            text=True, timeout=120)
    assert (synced.returncode, synced.stdout) == (0, NOTHING_TO_SYNC), synced.stderr

    new_jobs: list[str] = []
    try:
        sent = subprocess.run([PBT_TRACK, "resubmit-failed", "--workdir", str(old_workdir), "--run", "toy_chain"],
                              env=env, capture_output=True, text=True, timeout=120)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert sent.stdout.splitlines()[0] == (
            f"01_toy_chain: continues policy 1 from iteration 5 (checkpoint {CHAIN_CHECKPOINT})")
        script = old_workdir / "continuations" / "sbatch_01_toy_chain.3.sh"
        assert f"checkpoint={CHAIN_CHECKPOINT}" in script.read_text()
        assert "timeout 5 " in script.read_text()  # rendered from the template the old launch recorded

        deadline = time.monotonic() + 180
        while True:
            subprocess.run([PBT_TRACK, "sync", "--workdir", str(old_workdir)], env=env, capture_output=True,
                           timeout=120)
            chain = [row for row in attempts() if row[0] == "01_toy_chain"]
            new_jobs = [job for _name, attempt, job, *_rest in chain if attempt > 2 and job]
            # A job stopped at its limit records its continuation before it ends: the latest is final at the end.
            if chain[-1][3] in ("COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "OUT_OF_MEMORY", "NODE_FAIL"):
                break
            assert time.monotonic() < deadline, chain
            time.sleep(1)
    finally:
        running = subprocess.run(["squeue", "-h", "-o", "%i", "-j", ",".join(new_jobs)], capture_output=True,
                                 text=True).stdout.split() if new_jobs else []
        if running:
            subprocess.run(["scancel", *running], capture_output=True)

    chain = [row for row in attempts() if row[0] == "01_toy_chain"]
    assert chain[:2] == [row for row in ATTEMPTS if row[0] == "01_toy_chain"]
    assert chain[2][1:] == (3, chain[2][2], chain[2][3], chain[2][4], "resubmit", 2)
    # Five iterations of 1 s do not fit in a 5 s limit: this code's `pbt-track continue` sent at least one job.
    assert len(chain) >= 4, chain
    assert [row[5:] for row in chain[3:]] == [("continue", attempt) for attempt in range(3, len(chain))]
    assert chain[-1][3:5] == ("COMPLETED", 0), chain
    # One life from the checkpoint on: iterations 6 to 10 follow 1 to 5 under the same experiment name.
    history = query(DB, "SELECT i.experiment_name, i.iteration FROM pbt_iterations i "
                        "JOIN experiments e ON e.id = i.experiment_id "
                        "WHERE e.name = '01_toy_chain' AND i.file_key LIKE '001/%' ORDER BY i.iteration")
    assert [iteration for _life, iteration in history] == list(range(1, 11))
    assert len({life for life, _iteration in history}) == 1, history
