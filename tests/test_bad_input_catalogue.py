"""A catalogue of bad inputs, each run as a real command: one table, one test.

Every case is a command a user could type (the `pbt-track` console script
next to sys.executable, or `python -m pbt_tracker.launcher.run`), run as a
subprocess from the repository root (so `--run tests.fixtures...` imports)
with a temporary workdir. Each must:

* exit non-zero;
* print exactly one line on stderr, `Error: ...` (click) or `error: ...`
  (the launcher module), naming what is wrong and saying what to do;
* print no traceback;
* leave the record as it was: from an existing workdir, pbt_tracker.db (and
  its -wal file if there is one) has the same sha256 afterwards and passes
  `PRAGMA integrity_check`; from no workdir, nothing at all is created.

A case that does not meet these stays in the table as a known defect
(`xfail(strict=True)` with the reason), so the suite stays green and the
defect documented; when it is fixed, the strict xfail turns red and the
marker must go.

Scheduler failures use fake programs (sbatch, squeue, scontrol, sacct) in a
temporary directory put first on PATH: these are fakes because the real
one-node Slurm of the tests cannot be made to print garbage, refuse, hang or
fail on demand. A refused sbatch *during* a launch is recorded by design (the
launch goes on, the failure is kept in the database, the exit code is 1), so
those few cases are a separate table that asserts that documented behaviour
instead of an unchanged database.

The commands are separate processes, so a session fixture runs the selected
cases a few at a time and each case's test judges its own result. The last
test prints the catalogue's figures (with -s), counting what the commands
actually did, known defects included.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import shlex
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# About 120 commands, each a fresh process: the slow tier runs them (and CI, which runs every tier).
pytestmark = pytest.mark.slow

CATALOGUE = REPO_ROOT / "tests" / "fixtures" / "catalogue"
FIXTURE_MODULE = "tests.fixtures.catalogue"
PBT_TRACK = str(Path(sys.executable).parent / "pbt-track")
LAUNCHER = (sys.executable, "-m", "pbt_tracker.launcher.run")
DB = "pbt_tracker.db"

# A message says what to do with one of these verbs, by naming the values an option must
# have ("must be 1 or more"), or by pointing at a command to run (`pbt-track report`).
_REMEDY = re.compile(
    r"\b(pass|use|run|choose|give|add|rename|write|try|upgrade|move|set|check|say|fix|raise|restore|"
    r"assign|build|install|remove|change|select|wait|start|see|free|put|make)\b|\bmust be\b|`[^`]+`",
    re.IGNORECASE,
)


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input.

    `args` may use {W} (the workdir), {T} (the case's temporary directory), {TRAIN}
    (a train dir under it), {FIX} (tests/fixtures/catalogue) and {M} (its module
    prefix). `start` names the workdir the command finds; `says` is a piece of the
    message that names what is wrong.
    """

    id: str
    args: tuple[str, ...]
    says: str
    start: str = "none"
    launcher: bool = False  # python -m pbt_tracker.launcher.run instead of pbt-track
    env: dict[str, str] = field(default_factory=dict)
    fakes: dict[str, str] = field(default_factory=dict)  # program name -> shell script body
    path_without_slurm: bool = False  # PATH holds only the fakes (no sbatch anywhere)
    hold_lock: bool = False  # another writer holds BEGIN IMMEDIATE on the database meanwhile


def case(id: str, *args: str, says: str, defect: str | None = None, **options: object):  # type: ignore[no-untyped-def]
    """A table row; `defect` marks it as a known defect (strict xfail) and says what is wrong."""
    marks = [pytest.mark.xfail(strict=True, reason=defect)] if defect else []
    return pytest.param(Case(id, tuple(args), says, **options), id=id, marks=marks)  # type: ignore[arg-type]


def submit(*args: str) -> tuple[str, ...]:
    return ("submit", "--train_dir", "{TRAIN}", "--pause_between", "0", *args)


def slurm_submit(run: str, *args: str, print_only: bool = True) -> tuple[str, ...]:
    only = ("--slurm_print_only", "true") if print_only else ()
    return submit("--run", run, "--backend", "slurm", "--workdir", "{W}", *only, *args)


def launcher_slurm(run: str, *args: str) -> tuple[str, ...]:
    return ("--run", run, "--backend", "slurm", "--slurm_workdir", "{W}", "--train_dir", "{TRAIN}",
            "--pause_between", "0", "--slurm_print_only", "true", *args)


ECHO = "tests.fixtures.pbt_echo"
SBATCH_TIME = ("--slurm_sbatch_template", "{FIX}/sbatch_time.sh")  # `#SBATCH --time=$TIMEOUT`
GNU_TIMEOUT = ("--slurm_sbatch_template", "{FIX}/gnu_timeout.sh")  # `timeout $TIMEOUT $CMD`
M = FIXTURE_MODULE

_FAIL = 'echo "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2; exit 1'

CASES = [
    # --- the run module -----------------------------------------------------------------
    case("run-module-does-not-exist", *submit("--run", f"{M}.no_such_module", "--workdir", "{W}"),
         says="no module named"),
    case("run-py-file-does-not-exist", *submit("--run", "{FIX}/no_such_file.py", "--workdir", "{W}"),
         says="no_such_file"),
    case("run-relative-module-name", *submit("--run", ".relative", "--workdir", "{W}"),
         says="give an absolute module name"),
    case("run-missing", *submit("--workdir", "{W}"), says="no run given"),
    case("launcher-run-module-does-not-exist", "--run", f"{M}.no_such_module", "--workdir", "{W}",
         "--train_dir", "{TRAIN}", says="no module named", launcher=True),
    case("import-syntax-error", *submit("--run", "{T}/broken_syntax.py", "--workdir", "{W}"),
         says="SyntaxError"),
    case("launcher-import-syntax-error", "--run", "{T}/broken_syntax.py", "--workdir", "{W}",
         "--train_dir", "{TRAIN}", says="SyntaxError", launcher=True),
    case("import-runtime-error", *submit("--run", f"{M}.import_runtime_error", "--workdir", "{W}"),
         says="RuntimeError"),
    case("import-key-error", *submit("--run", f"{M}.import_key_error", "--workdir", "{W}"), says="KeyError"),
    case("import-missing-dependency", *submit("--run", f"{M}.import_missing_dependency", "--workdir", "{W}"),
         says="pbt_track_catalogue_package_that_is_not_installed"),
    case("import-sys-exit-message", *submit("--run", f"{M}.import_sys_exit_message", "--workdir", "{W}"),
         says="SystemExit"),
    case("launcher-import-sys-exit-code", *launcher_slurm(f"{M}.import_sys_exit_code"), says="SystemExit",
         launcher=True),
    case("no-run-description", *submit("--run", f"{M}.no_run_description", "--workdir", "{W}"),
         says="no RUN_DESCRIPTION"),
    case("run-description-none", *submit("--run", f"{M}.run_description_none", "--workdir", "{W}"),
         says="RUN_DESCRIPTION"),
    case("wrong-type-dict", *submit("--run", f"{M}.wrong_type_dict", "--workdir", "{W}"), says="dict"),
    case("launcher-wrong-type-list", *launcher_slurm(f"{M}.wrong_type_list"), says="list", launcher=True),
    case("empty-run", *slurm_submit(f"{M}.empty_run"), says="no experiments"),
    case("empty-run-processes", *submit("--run", f"{M}.empty_run", "--workdir", "{W}"), says="no experiments"),
    case("duplicate-names", *slurm_submit(f"{M}.duplicate_names"), says="00_same"),
    case("duplicate-names-from-params", *submit("--run", f"{M}.duplicate_names_params", "--workdir", "{W}"),
         says="00_ant_see_1"),
    # --- the training environment's interpreter (--python, PBT_TRACK_PYTHON) --------------------
    case("python-does-not-exist", *slurm_submit(ECHO, "--python", "{T}/env/bin/python"),
         says="--python {T}/env/bin/python does not exist", start="recorded"),
    case("python-is-a-directory", *slurm_submit(ECHO, "--python", "{T}"), says="is a directory", start="recorded"),
    case("python-is-not-a-python", *slurm_submit(ECHO, "--python", "/bin/true"), says="did not answer as Python",
         start="recorded"),
    case("python-cannot-import-the-run", *submit("--run", "isaacgymenvs.pbt.experiments.train_standin",
                                                 "--python", sys.executable, "--workdir", "{W}"),
         says="cannot import run module isaacgymenvs.pbt.experiments.train_standin", start="recorded"),
    case("environment-python-does-not-exist", *slurm_submit(ECHO), says="PBT_TRACK_PYTHON {T}/gone does not exist",
         env={"PBT_TRACK_PYTHON": "{T}/gone"}, start="recorded"),
    case("launcher-python-does-not-exist", *launcher_slurm(ECHO, "--python", "{T}/env/bin/python"),
         says="--python {T}/env/bin/python does not exist", launcher=True),
    # --- experiment names that cannot be file names ---------------------------------------
    case("name-slash", *slurm_submit(f"{M}.name_slash"), says="00_ant/v2"),
    case("name-dotdot", *slurm_submit(f"{M}.name_dotdot"), says="../../outside"),
    case("name-newline", *slurm_submit(f"{M}.name_newline"), says="two\\nlines"),
    case("name-quote", *submit("--run", f"{M}.name_quote", "--workdir", "{W}"), says="it's"),
    case("name-nul", *slurm_submit(f"{M}.name_nul"), says="\\x00"),
    case("name-non-ascii", *slurm_submit(f"{M}.name_non_ascii"), says="00_gr"),
    case("name-percent", *slurm_submit(f"{M}.name_percent"), says="10%"),
    case("name-space", *launcher_slurm(f"{M}.name_space"), says="00_my ant", launcher=True),
    # --- sbatch templates ------------------------------------------------------------------
    case("template-missing", *slurm_submit(ECHO, "--slurm_sbatch_template", "{T}/missing.sh"),
         says="does not exist"),
    case("template-is-a-directory", *slurm_submit(ECHO, "--slurm_sbatch_template", "{T}"),
         says="is a directory"),
    case("template-not-utf8", *slurm_submit(ECHO, "--slurm_sbatch_template", "{T}/latin1.sh"),
         says="not UTF-8"),
    case("template-unknown-variable", *slurm_submit(ECHO, "--slurm_sbatch_template", "{FIX}/unknown_var.sh"),
         says="$SLURM_JOB_ID"),
    case("template-stray-dollar", *slurm_submit(ECHO, "--slurm_sbatch_template", "{FIX}/stray_dollar.sh"),
         says="stray '$'"),
    case("launcher-template-unknown-variable",
         *launcher_slurm(ECHO, "--slurm_sbatch_template", "{FIX}/unknown_var.sh"), says="$SLURM_JOB_ID",
         launcher=True),
    # --- launches Slurm would accept and fail at run time, and dirs outside --train_dir ---------
    case("template-asks-for-an-array", *slurm_submit(ECHO, "--slurm_sbatch_template", "{FIX}/array_template.sh"),
         says="asks for a job array"),
    case("template-asks-for-an-array-submitted",
         *slurm_submit(ECHO, "--slurm_sbatch_template", "{FIX}/array_template.sh", print_only=False),
         says="asks for a job array"),
    case("workdir-with-percent", *submit("--run", ECHO, "--backend", "slurm", "--workdir", "{T}/runs_100%/w",
                                         "--slurm_print_only", "true"), says="contains '%'"),
    case("log-name-too-long", *slurm_submit(f"{M}.long_name"), says="too long for its Slurm log file name"),
    case("base-name-300-processes", *submit("--run", f"{M}.long_base_name", "--workdir", "{W}"),
         says="too long for the file names made from it"),
    case("base-name-300-slurm", *slurm_submit(f"{M}.long_base_name"), says="too long for the file names made from it"),
    case("shell-in-a-value-processes", *submit("--run", f"{M}.shell_in_value", "--workdir", "{W}"),
         says="'$' outside single quotes"),
    case("shell-in-a-value-slurm", *slurm_submit(f"{M}.shell_in_value"), says="'$' outside single quotes"),
    case("workdir-with-a-line-break", *submit("--run", ECHO, "--backend", "slurm", "--workdir", "{T}/a\nb",
                                              "--slurm_print_only", "true"), says="holds a line break"),
    case("run-name-dotdot", *slurm_submit(f"{M}.run_name_dotdot"), says="'../outside_run'"),
    case("run-name-absolute", *slurm_submit(f"{M}.run_name_absolute"), says="/nonexistent-pbt-track-catalogue/run"),
    case("run-name-dotdot-processes", *submit("--run", f"{M}.run_name_dotdot", "--workdir", "{W}"),
         says="'../outside_run'"),
    case("experiment-suffix-climbs-out", *slurm_submit(ECHO, "--experiment_suffix", "/../../../outside"),
         says="--experiment_suffix"),
    case("launcher-experiment-suffix-climbs-out",
         *launcher_slurm(ECHO, "--experiment_suffix", "/../../../outside"), says="--experiment_suffix",
         launcher=True),
    # --- resources and options ---------------------------------------------------------------
    case("gpus-not-an-integer", *slurm_submit(ECHO, "--slurm_gpus_per_job", "two"), says="'two'"),
    case("cpus-not-an-integer", *slurm_submit(ECHO, "--slurm_cpus_per_gpu", "1.5"), says="'1.5'"),
    case("launcher-gpus-not-an-integer", *launcher_slurm(ECHO, "--slurm_gpus_per_job", "2.5"), says="2.5",
         launcher=True),
    case("gpus-negative", *slurm_submit(ECHO, "--slurm_gpus_per_job", "-1"), says="--slurm_gpus_per_job"),
    case("cpus-negative", *slurm_submit(ECHO, "--slurm_cpus_per_gpu", "-4"), says="--slurm_cpus_per_gpu"),
    case("cpus-zero", *launcher_slurm(ECHO, "--slurm_cpus_per_gpu", "0"), says="--slurm_cpus_per_gpu",
         launcher=True),
    case("timeout-hours-suffix", *slurm_submit(ECHO, "--slurm_timeout", "24h", *SBATCH_TIME), says="'24h'"),
    case("timeout-four-fields", *slurm_submit(ECHO, "--slurm_timeout", "1:00:00:00", *SBATCH_TIME),
         says="1:00:00:00"),
    case("timeout-negative", *slurm_submit(ECHO, "--slurm_timeout=-5", *SBATCH_TIME), says="'-5'"),
    case("timeout-words", *slurm_submit(ECHO, "--slurm_timeout", "2 days", *SBATCH_TIME), says="2 days"),
    case("timeout-empty", *launcher_slurm(ECHO, "--slurm_timeout=", *SBATCH_TIME), says="--slurm_timeout",
         launcher=True),
    case("timeout-slurm-time-to-gnu-timeout", *slurm_submit(ECHO, "--slurm_timeout", "24:00:00", *GNU_TIMEOUT),
         says="cannot go to `timeout` at line"),
    case("partition-with-space", *slurm_submit(ECHO, "--slurm_partition", "gpu long"), says="gpu long"),
    case("partition-with-semicolon", *slurm_submit(ECHO, "--slurm_partition", "gpu;reboot"), says="gpu;reboot"),
    case("backend-nonsense", *submit("--run", ECHO, "--backend", "nonsense", "--workdir", "{W}"),
         says="nonsense"),
    case("launcher-backend-nonsense", "--run", ECHO, "--backend", "nonsense", "--workdir", "{W}",
         says="nonsense", launcher=True),
    case("print-only-not-a-boolean", *slurm_submit(ECHO, print_only=False) + ("--slurm_print_only", "maybe"),
         says="maybe"),
    case("slurm-option-without-slurm-backend",
         *submit("--run", ECHO, "--workdir", "{W}", "--slurm_partition", "gpu"), says="--slurm_partition"),
    case("processes-option-with-slurm-backend", *slurm_submit(ECHO, "--max_parallel", "2"), says="--max_parallel"),
    case("slurm-backend-without-workdir", *submit("--run", ECHO, "--backend", "slurm", "--slurm_print_only", "true"),
         says="workdir"),
    case("pause-between-negative", *slurm_submit(ECHO, "--pause_between", "-1"), says="--pause_between"),
    case("max-parallel-zero", *submit("--run", ECHO, "--workdir", "{W}", "--max_parallel", "0"),
         says="--max_parallel"),
    case("launcher-max-parallel-negative", "--run", ECHO, "--workdir", "{W}", "--train_dir", "{TRAIN}",
         "--max_parallel", "-3", says="--max_parallel", launcher=True),
    case("experiments-per-gpu-zero", *submit("--run", ECHO, "--workdir", "{W}", "--experiments_per_gpu", "0"),
         says="--experiments_per_gpu"),
    case("num-gpus-zero-with-experiments-per-gpu",
         *submit("--run", ECHO, "--workdir", "{W}", "--num_gpus", "0", "--experiments_per_gpu", "2"),
         says="--num_gpus"),
    case("command-unclosed-quote", *submit("--run", f"{M}.unclosed_quote", "--workdir", "{W}"),
         says="quotation"),
    case("launcher-command-unclosed-quote", "--run", f"{M}.unclosed_quote", "--workdir", "{W}",
         "--train_dir", "{TRAIN}", says="quotation", launcher=True),
    case("submit-no-such-option", *slurm_submit(ECHO, "--no-such-option"), says="--no-such-option"),
    case("launcher-no-such-option", *launcher_slurm(ECHO, "--no-such-option"), says="--no-such-option",
         launcher=True),
    # --- the workdir and its database ----------------------------------------------------------
    case("workdir-is-a-file", *slurm_submit(ECHO), says="is a file", start="file"),
    case("launcher-workdir-is-a-file", "--run", ECHO, "--workdir", "{W}", "--train_dir", "{TRAIN}",
         says="is a file", start="file", launcher=True),
    case("workdir-inside-a-file", *slurm_submit(ECHO), says="Not a directory", start="under-file"),
    case("report-workdir-is-a-file", "report", "--workdir", "{W}", says="{W}", start="file"),
    case("db-garbage-report", "report", "--workdir", "{W}", says="not a SQLite database", start="garbage"),
    case("db-garbage-submit", *slurm_submit(ECHO), says="not a SQLite database", start="garbage"),
    case("db-truncated-report", "report", "--workdir", "{W}", says=DB, start="truncated"),
    case("db-truncated-submit", *slurm_submit(ECHO), says=DB, start="truncated"),
    case("db-launches-page-damaged-report", "report", "--workdir", "{W}", "--no-sync", says="is damaged",
         start="damaged"),
    case("db-launches-page-damaged-submit", *slurm_submit(ECHO), says="is damaged", start="damaged"),
    case("db-launches-page-damaged-resubmit", "resubmit-failed", "--workdir", "{W}", says="is damaged",
         start="damaged"),
    case("db-history-page-damaged-submit", *slurm_submit(ECHO), says="is damaged", start="damaged-history"),
    case("db-zero-bytes-report", "report", "--workdir", "{W}", says="0 bytes", start="zero-bytes"),
    case("db-zero-bytes-submit", *slurm_submit(ECHO), says="0 bytes", start="zero-bytes"),
    case("launcher-db-zero-bytes", *launcher_slurm(ECHO), says="0 bytes", start="zero-bytes", launcher=True),
    case("db-table-missing-report", "report", "--workdir", "{W}", "--no-sync", says="pbt_events are missing",
         start="table-missing"),
    case("db-table-missing-submit", *slurm_submit(ECHO), says="pbt_events are missing", start="table-missing"),
    case("db-newer-schema-report", "report", "--workdir", "{W}", says="newer pbt-track", start="newer"),
    case("db-newer-schema-submit", *slurm_submit(ECHO), says="newer pbt-track", start="newer"),
    case("launcher-db-newer-schema", *launcher_slurm(ECHO), says="newer pbt-track", start="newer", launcher=True),
    case("db-locked-resubmit", "resubmit-failed", "--no-sync", "--workdir", "{W}", says="locked", start="failed",
         hold_lock=True, env={"PBT_TRACK_BUSY_TIMEOUT": "1"}),
    case("db-locked-submit", *slurm_submit(ECHO), says="locked", start="recorded", hold_lock=True,
         env={"PBT_TRACK_BUSY_TIMEOUT": "1"}),
    case("db-locked-cancel", "cancel", "--all", "--workdir", "{W}", says="locked", start="recorded",
         hold_lock=True, env={"PBT_TRACK_BUSY_TIMEOUT": "1"}),
    case("report-no-database", "report", "--workdir", "{W}", says="no pbt-track database"),
    case("cancel-no-database", "cancel", "--all", "--workdir", "{W}", says="no pbt-track database", start="empty"),
    case("sync-no-database", "sync", "--workdir", "{W}", says="no pbt-track database"),
    case("resubmit-no-database", "resubmit-failed", "--workdir", "{W}", says="no pbt-track database",
         start="empty"),
    case("env-busy-timeout-not-a-number", "report", "--workdir", "{W}", says="PBT_TRACK_BUSY_TIMEOUT",
         start="recorded", env={"PBT_TRACK_BUSY_TIMEOUT": "abc"}),
    case("env-scheduler-timeout-not-a-number", *slurm_submit(ECHO), says="PBT_TRACK_SCHEDULER_TIMEOUT",
         env={"PBT_TRACK_SCHEDULER_TIMEOUT": "soon"}),
    case("env-kill-grace-not-a-number", "cancel", "--all", "--workdir", "{W}", says="PBT_TRACK_KILL_GRACE",
         start="recorded", env={"PBT_TRACK_KILL_GRACE": "ten"}),
    case("report-no-database-from-env", "report", says="no pbt-track database", env={"PBT_TRACK_WORKDIR": "{W}"}),
    # --- selections that match nothing, and bad selector options --------------------------------
    case("report-experiment-unknown", "report", "--workdir", "{W}", "--experiment", "99_nope", says="99_nope",
         start="recorded"),
    case("report-run-unknown", "report", "--workdir", "{W}", "--run", "nope_run", says="nope_run",
         start="recorded"),
    case("cancel-experiment-unknown", "cancel", "--workdir", "{W}", "--experiment", "99_nope", says="99_nope",
         start="recorded"),
    case("cancel-run-unknown", "cancel", "--workdir", "{W}", "--run", "nope_run", says="nope_run",
         start="recorded"),
    case("cancel-job-unknown", "cancel", "--workdir", "{W}", "--job", "999999999", says="999999999",
         start="recorded"),
    case("resubmit-experiment-unknown", "resubmit-failed", "--workdir", "{W}", "--experiment", "99_nope",
         says="99_nope", start="recorded"),
    case("resubmit-run-unknown", "resubmit-failed", "--workdir", "{W}", "--run", "nope_run", says="nope_run",
         start="recorded"),
    case("cancel-no-selector", "cancel", "--workdir", "{W}", says="say what to cancel", start="recorded"),
    case("cancel-no-selector-jobs-queued", "cancel", "--workdir", "{W}", says="say what to cancel",
         start="submitted"),
    case("resubmit-workdir-moved", "resubmit-failed", "--workdir", "{W}", says="no longer exists", start="moved"),
    case("resubmit-max-attempts-zero", "resubmit-failed", "--workdir", "{W}", "--max-attempts", "0",
         says="--max-attempts", start="failed"),
    case("resubmit-max-attempts-negative", "resubmit-failed", "--workdir", "{W}", "--max-attempts", "-1",
         says="--max-attempts", start="recorded"),
    case("report-format-xml", "report", "--workdir", "{W}", "--format", "xml", says="xml", start="recorded"),
    case("report-state-unknown-lowercase", "report", "--workdir", "{W}", "--state", "runing", says="RUNING",
         start="recorded"),
    case("cancel-state-unknown", "cancel", "--workdir", "{W}", "--state", "pendng", says="PENDNG",
         start="recorded"),
    case("report-no-such-option", "report", "--workdir", "{W}", "--no-such-option", says="--no-such-option",
         start="recorded"),
    case("resubmit-job-is-no-option", "resubmit-failed", "--workdir", "{W}", "--job", "1", says="--job",
         start="recorded"),
    # --- the scheduler (fakes on PATH: one node cannot fail on demand) ---------------------------
    case("sbatch-not-on-path", *slurm_submit(ECHO, print_only=False), says="sbatch was not found",
         path_without_slurm=True),
    case("resubmit-sbatch-not-on-path", "resubmit-failed", "--workdir", "{W}", says="sbatch was not found",
         start="failed", path_without_slurm=True),
    # --- NGC (no ngc CLI here: PATH without it stands for a machine without the CLI) ---------------
    case("ngc-template-missing", *submit("--run", ECHO, "--backend", "ngc", "--workdir", "{W}",
                                         "--ngc_job_template", "{T}/missing.txt"), says="does not exist"),
    case("ngc-template-not-given", *submit("--run", ECHO, "--backend", "ngc", "--workdir", "{W}"),
         says="--ngc_job_template"),
    case("ngc-not-on-path", *submit("--run", ECHO, "--backend", "ngc", "--workdir", "{W}",
                                    "--ngc_job_template", "{FIX}/ngc_job.txt"), says="ngc was not found",
         path_without_slurm=True),
    case("launcher-ngc-not-on-path", "--run", ECHO, "--backend", "ngc", "--workdir", "{W}", "--train_dir",
         "{TRAIN}", "--ngc_job_template", "{FIX}/ngc_job.txt", says="ngc was not found", launcher=True,
         path_without_slurm=True),
    case("sync-squeue-and-scontrol-fail", "sync", "--workdir", "{W}", says="squeue", start="submitted",
         fakes={"squeue": 'echo "squeue: error: slurm_load_jobs error: Socket timed out" >&2; exit 1',
                "scontrol": 'echo "slurm_load_jobs error: Unable to contact slurm controller" >&2; exit 1',
                "sacct": "exit 1"}),
    case("sync-squeue-hangs-scontrol-fails", "sync", "--workdir", "{W}", says="squeue", start="submitted",
         env={"PBT_TRACK_SCHEDULER_TIMEOUT": "1"},
         fakes={"squeue": "exec sleep 30",
                "scontrol": 'echo "slurm_load_jobs error: Unable to contact slurm controller" >&2; exit 1',
                "sacct": "exit 1"}),
]


# ---------------------------------------------------------------------------------------------
# Workdirs the cases start from
# ---------------------------------------------------------------------------------------------


def _env(extra: dict[str, str] | None = None, path: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PBT_TRACK_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if path is not None:
        env["PATH"] = path
    env.update(extra or {})
    return env


def _write_program(directory: Path, name: str, body: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    program = directory / name
    program.write_text(f"#!/bin/sh\n{body}\n")
    program.chmod(program.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _launch(tmp: Path, workdir: Path, *extra: str, fakes: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    path = os.environ["PATH"]
    if fakes:
        _write_program(tmp / "fake-bin", "sbatch", fakes["sbatch"])
        path = f"{tmp / 'fake-bin'}{os.pathsep}{path}"
    argv = [PBT_TRACK, "submit", "--run", ECHO, "--backend", "slurm", "--workdir", str(workdir),
            "--train_dir", str(tmp / "train"), "--pause_between", "0", *extra]
    return subprocess.run(argv, cwd=REPO_ROOT, env=_env(path=path), capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="session")
def recorded_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workdir holding one recorded print-only launch of tests.fixtures.pbt_echo (three experiments)."""
    tmp = tmp_path_factory.mktemp("recorded")
    workdir = tmp / "w"
    done = _launch(tmp, workdir, "--slurm_print_only", "true")
    assert done.returncode == 0, done.stdout + done.stderr
    return workdir


@pytest.fixture(scope="session")
def submitted_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workdir whose three jobs were queued (by a fake sbatch that answers with made-up job ids)."""
    tmp = tmp_path_factory.mktemp("submitted")
    workdir = tmp / "w"
    counter = tmp / "next-job-id"
    counter.write_text("990001")
    body = f'id=$(cat {counter}); echo $((id + 1)) > {counter}; echo "$id"'
    done = _launch(tmp, workdir, fakes={"sbatch": body})
    assert done.returncode == 0, done.stdout + done.stderr
    return workdir


@pytest.fixture(scope="session")
def failed_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workdir whose three submissions were refused by (a fake) sbatch: all SUBMIT_FAILED."""
    tmp = tmp_path_factory.mktemp("failed")
    workdir = tmp / "w"
    done = _launch(tmp, workdir, fakes={"sbatch": _FAIL})
    assert done.returncode == 1, done.stdout + done.stderr
    return workdir


def _prepare(start: str, tmp: Path, request: pytest.FixtureRequest) -> Path:
    """Lay out the case's starting point in `tmp`; return the workdir path the command is given."""
    workdir = tmp / "w"
    (tmp / "broken_syntax.py").write_text("def broken(:\n    pass\n")
    (tmp / "latin1.sh").write_bytes("#!/bin/bash\n# Größe\n$CMD\n".encode("latin-1"))
    if start == "none":
        return workdir
    if start == "empty":
        workdir.mkdir()
    elif start == "file":
        workdir.write_text("not a directory\n")
    elif start == "under-file":
        (tmp / "somefile").write_text("a file, not a directory\n")
        workdir = tmp / "somefile" / "sub"
    elif start in ("recorded", "submitted", "failed"):
        shutil.copytree(request.getfixturevalue(f"{start}_workdir"), workdir)
    elif start == "garbage":
        workdir.mkdir()
        (workdir / DB).write_bytes(b"these are notes, not a database\n" * 64)
    elif start == "truncated":
        workdir.mkdir()
        (workdir / DB).write_bytes((request.getfixturevalue("recorded_workdir") / DB).read_bytes()[:1000])
    elif start in ("damaged", "damaged-history"):  # one table's page: a valid page header, garbage behind it
        shutil.copytree(request.getfixturevalue("recorded_workdir"), workdir)
        connection = sqlite3.connect(workdir / DB)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        table = "launches" if start == "damaged" else "state_changes"
        root, = connection.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
        page_size, = connection.execute("PRAGMA page_size").fetchone()
        connection.close()
        with (workdir / DB).open("r+b") as handle:
            handle.seek((root - 1) * page_size + 8)
            handle.write(random.Random(7).randbytes(page_size - 8))
    elif start == "moved":  # a workdir of refused submissions, moved after its launch
        done = _launch(tmp, tmp / "before-the-move", fakes={"sbatch": _FAIL})
        assert done.returncode == 1, done.stdout + done.stderr
        (tmp / "before-the-move").rename(workdir)
    elif start == "zero-bytes":
        workdir.mkdir()
        (workdir / DB).write_bytes(b"")
    elif start == "table-missing":
        shutil.copytree(request.getfixturevalue("recorded_workdir"), workdir)
        connection = sqlite3.connect(workdir / DB)
        with connection:
            connection.execute("DROP TABLE pbt_events")
        connection.close()
    elif start == "newer":
        shutil.copytree(request.getfixturevalue("recorded_workdir"), workdir)
        connection = sqlite3.connect(workdir / DB)
        with connection:
            connection.execute("UPDATE alembic_version SET version_num = '9999'")
        connection.close()
    else:
        raise AssertionError(f"unknown start {start}")
    return workdir


def _db_state(workdir: Path) -> tuple[str | None, str | None]:
    def digest(path: Path) -> str | None:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None

    return digest(workdir / DB), digest(workdir / f"{DB}-wal")


def _integrity_ok(db: Path) -> bool:
    """A plain read-write connection: read-only ones leave an empty -wal file behind on a WAL database."""
    try:
        connection = sqlite3.connect(db)
        try:
            return connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            connection.close()
    except sqlite3.DatabaseError:
        return False


def _tree(root: Path) -> dict[str, str | None]:
    """Every path under `root`, with the sha256 of each file."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        for path in sorted(root.rglob("*"))
    }


@contextmanager
def _writer_holding_lock(db: Path) -> Iterator[None]:
    """Another writer: a plain sqlite3 connection inside BEGIN IMMEDIATE for as long as the command runs."""
    connection = sqlite3.connect(db, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


# ---------------------------------------------------------------------------------------------
# The test
# ---------------------------------------------------------------------------------------------

RESULTS: list[dict[str, object]] = []


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


@dataclass
class Run:
    """One case, laid out and ready to run; `result` is filled in by `_run`."""

    bad: Case
    tmp: Path
    workdir: Path
    result: dict[str, object] = field(default_factory=dict)

    @property
    def values(self) -> dict[str, str]:
        return {"W": str(self.workdir), "T": str(self.tmp), "TRAIN": str(self.tmp / "train"),
                "FIX": str(CATALOGUE), "M": FIXTURE_MODULE}


def _run(run: Run) -> None:
    """Run one case's command as a subprocess and judge what it did."""
    bad, tmp, workdir, values = run.bad, run.tmp, run.workdir, run.values
    argv = [*(LAUNCHER if bad.launcher else (PBT_TRACK,)), *(_fill(arg, values) for arg in bad.args)]
    fake_bin = tmp / "fake-bin"
    for name, body in bad.fakes.items():
        _write_program(fake_bin, name, body)
    if bad.path_without_slurm:
        fake_bin.mkdir(exist_ok=True)
        path = str(fake_bin)
    else:
        path = f"{fake_bin}{os.pathsep}{os.environ['PATH']}" if bad.fakes else os.environ["PATH"]
    env = _env({key: _fill(value, values) for key, value in bad.env.items()}, path)

    has_db = (workdir / DB).is_file()
    was_intact = has_db and _integrity_ok(workdir / DB)
    before_db = _db_state(workdir) if has_db else None
    before_tree = _tree(tmp)

    with _writer_holding_lock(workdir / DB) if bad.hold_lock else nullcontext():
        done = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)

    if has_db:
        unchanged = _db_state(workdir) == before_db and (not was_intact or _integrity_ok(workdir / DB))
    else:
        unchanged = _tree(tmp) == before_tree
    prefix = "error: " if bad.launcher else "Error: "
    lines = done.stderr.splitlines()
    one_line = done.stderr.endswith("\n") and len(lines) == 1 and lines[0].startswith(prefix)
    message = lines[0][len(prefix):] if one_line else ""
    run.result = {
        "id": bad.id,
        "one_line": one_line,
        "clear": one_line and _fill(bad.says, values).lower() in message.lower() and bool(_REMEDY.search(message)),
        "nonzero": done.returncode != 0,
        "unchanged": unchanged,
        "traceback": "Traceback" in done.stdout or "Traceback" in done.stderr,
        "shown": f"$ {shlex.join(argv)}\nexit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}",
    }


@pytest.fixture(scope="session")
def catalogue_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every selected case, run a few at a time: each is a separate process, so they need not wait in line.

    The workdirs are laid out first, one by one; then the commands run concurrently,
    each in its own temporary directory, and each case's test reads its result.
    """
    selected = [
        item.callspec.params["bad"]
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_bad_input" and hasattr(item, "callspec")
    ]
    runs = {}
    for bad in selected:
        tmp = tmp_path_factory.mktemp(bad.id, numbered=True)
        runs[bad.id] = Run(bad, tmp, _prepare(bad.start, tmp, request))
    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 2) + 2) as pool:
        list(pool.map(_run, runs.values()))
    return runs


@pytest.mark.parametrize("bad", CASES)
def test_bad_input(bad: Case, catalogue_runs: dict[str, Run]) -> None:
    result = catalogue_runs[bad.id].result
    RESULTS.append(result)
    shown = result["shown"]
    prefix = "error: " if bad.launcher else "Error: "
    assert not result["traceback"], shown
    assert result["nonzero"], shown
    assert result["one_line"], f"not exactly one {prefix!r} line on stderr\n{shown}"
    assert result["clear"], f"the line does not name {bad.says!r} or say what to do\n{shown}"
    assert result["unchanged"], f"the record changed\n{shown}"


# ---------------------------------------------------------------------------------------------
# A refused sbatch during a launch: recorded by design
# ---------------------------------------------------------------------------------------------

SBATCH_FAILURES = [
    # Exit 0 without a readable id: the job may exist, so it is not recorded as refused.
    pytest.param(
        'echo "<html><body>503 Service Unavailable</body></html>"', "SUBMIT_UNCERTAIN", "sbatch printed no job id",
        {}, id="sbatch-prints-garbage",
    ),
    pytest.param(_FAIL, "SUBMIT_FAILED", "Invalid partition name specified", {}, id="sbatch-exits-1"),
    # Timed out: the job may exist, so the README records it as SUBMIT_UNCERTAIN rather than SUBMIT_FAILED.
    pytest.param(
        "exec sleep 30", "SUBMIT_UNCERTAIN", "did not answer within 1 s", {"PBT_TRACK_SCHEDULER_TIMEOUT": "1"},
        id="sbatch-hangs-past-timeout",
    ),
]


@pytest.mark.parametrize(("body", "state", "error", "extra_env"), SBATCH_FAILURES)
def test_refused_sbatch_is_recorded(body: str, state: str, error: str, extra_env: dict[str, str],
                                    tmp_path: Path) -> None:
    """Exit 1, every failure in stdout's summary, and each row in the record with the message."""
    _write_program(tmp_path / "fake-bin", "sbatch", body)
    workdir = tmp_path / "w"
    argv = [PBT_TRACK, *_fill_all(slurm_submit(ECHO, print_only=False), workdir, tmp_path)]
    env = _env(extra_env, f"{tmp_path / 'fake-bin'}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)

    shown = f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.returncode == 1, shown
    assert "Traceback" not in done.stdout + done.stderr, shown
    uncertain = state == "SUBMIT_UNCERTAIN"  # the job may exist: not called a failure
    for name in ("00_echo_pbt", "01_echo_pbt", "02_echo_pbt"):
        told = (rf"^{name} may have been submitted \(.*{re.escape(error)}" if uncertain
                else rf"^FAILED to submit {name}: .*{re.escape(error)}")
        assert re.search(told, done.stdout, re.MULTILINE), shown
    assert ("3 of 3 experiments may have been submitted; pbt-track will find out at the next sync" if uncertain
            else "3 of 3 experiments were not submitted.") in done.stdout, shown
    connection = sqlite3.connect(workdir / DB)
    try:
        rows = connection.execute(
            "SELECT e.name, s.state, s.job_id, s.submit_stdout, s.submit_stderr,"
            " (SELECT group_concat(detail, ' | ') FROM state_changes WHERE submission_id = s.id)"
            " FROM submissions AS s JOIN experiments AS e ON e.id = s.experiment_id ORDER BY e.position"
        ).fetchall()
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        connection.close()
    assert [row[0] for row in rows] == ["00_echo_pbt", "01_echo_pbt", "02_echo_pbt"]
    for name, row_state, job_id, stdout, stderr, details in rows:
        assert (row_state, job_id) == (state, None), (name, row_state, job_id)
        assert error in f"{stdout or ''} {stderr or ''} {details or ''}", (name, stdout, stderr, details)


def _fill_all(args: tuple[str, ...], workdir: Path, tmp: Path) -> list[str]:
    values = {"W": str(workdir), "T": str(tmp), "TRAIN": str(tmp / "train"), "FIX": str(CATALOGUE),
              "M": FIXTURE_MODULE}
    return [_fill(arg, values) for arg in args]


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


def test_zz_catalogue_figures(report_figure) -> None:
    """How the whole catalogue fared, printed at the end of the run."""
    if len(RESULTS) < len(CASES):
        pytest.skip(f"only {len(RESULTS)} of the {len(CASES)} cases ran; run the whole catalogue for its figures")
    tried = len(RESULTS)
    one_line = sum(1 for r in RESULTS if r["clear"])
    nonzero = sum(1 for r in RESULTS if r["nonzero"])
    unchanged = sum(1 for r in RESULTS if r["unchanged"])
    tracebacks = sum(1 for r in RESULTS if r["traceback"])
    report_figure(
        f"bad inputs: tried {tried}, one clear line {one_line}, non-zero exit {nonzero}, "
        f"database unchanged {unchanged}, tracebacks {tracebacks}"
    )
    assert tried >= 40
    assert (one_line, nonzero, unchanged, tracebacks) == (tried, tried, tried, 0)
