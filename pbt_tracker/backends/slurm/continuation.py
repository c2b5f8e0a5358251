"""A PBT policy's continuation on Slurm: a new script, recorded with its attempt before sbatch sees it.

The launch's own script stays as it was, because it is the policy's start
(what `--from-scratch` sends), and because a script in use by a running
chain must not change under it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from pbt_tracker import processes, states
from pbt_tracker.backends.options import launch_options_from_record
from pbt_tracker.backends.slurm import NAME as SLURM
from pbt_tracker.backends.slurm.claim import Claim, claim_file, make_claim_file, with_claim
from pbt_tracker.backends.slurm.script import (
    SBATCH_TEMPLATE_DEFAULT,
    SlurmResources,
    log_path,
    render_script,
    sbatch_directives,
)
from pbt_tracker.backends.slurm.resources import AttemptSetup, changes_text, with_resources
from pbt_tracker.backends.slurm.tags import submission_tag, with_tag, without_tag
from pbt_tracker.launch.record import sha256_text, share_as_launched
from pbt_tracker.pbt.resume import ResumeDecision, policy_tmpdir
from pbt_tracker.pbt.starts import note_outcome
from pbt_tracker.store import utcnow, writes
from pbt_tracker.store.new_rows import NewScript, NewSubmission, insert

if TYPE_CHECKING:
    import sqlite3

    from pbt_tracker.backends.slurm.options import SlurmLaunchOptions
    from pbt_tracker.store.next_attempts import PriorAttempt

__all__ = [
    "CONTINUATIONS_DIR", "RecordedContinuation", "continuation_argv", "continuation_script",
    "continuation_script_path", "is_continuation_script", "record_continuation", "run_from",
]

# Continuation scripts live apart from the launch's, so no experiment name can make the two collide.
CONTINUATIONS_DIR = "continuations"


@dataclass(frozen=True)
class RecordedContinuation:
    submission_id: int
    argv: list[str]  # with its tag
    own_argv: list[str]
    script_path: Path
    script_text: str
    log_path: str


def continuation_script_path(workdir: Path, experiment: str, attempt: int) -> Path:
    return workdir / CONTINUATIONS_DIR / f"sbatch_{experiment}.{attempt}.sh"


def is_continuation_script(workdir: Path, path: str | None) -> bool:
    """Whether an attempt ran a continuation's script; sending the original command then needs a new one too."""
    return path is not None and Path(path).parent == workdir / CONTINUATIONS_DIR


def continuation_script(template_text: str, template_path: str | None, command: str, path: Path,
                        resources: SlurmResources, name: str) -> str:
    """The script the launch would have rendered for experiment `name` had its command been `command`."""
    return render_script(template_text, cmd=command, filename=str(path), resources=resources,
                         append_cmd=template_path is None, name=name)


def run_from(argv: list[str], cwd: str | None, script_text: str) -> list[str]:
    """An sbatch command that runs its job in the launch's directory, wherever the command is sent from.

    sbatch starts a job in the directory sbatch itself ran in; a relative
    command in a template that does not `cd` then fails at once when a
    resubmission or the keeper is run from elsewhere. A script whose own
    #SBATCH lines choose a directory keeps it, and so does a command that
    already names one.
    """
    if not cwd or len(argv) < 2 or any(_is_chdir(arg) for arg in argv[1:]):
        return argv
    if any(_is_chdir(directive.split(None, 1)[1] if " " in directive else "")
           for directive in sbatch_directives(script_text)):
        return argv
    return [argv[0], f"--chdir={cwd}", *argv[1:]]


def _is_chdir(arg: str) -> bool:
    return arg in ("-D", "--chdir") or arg.startswith(("--chdir=", "-D"))


def continuation_argv(argv: list[str], old_script: str, new_script: Path) -> list[str]:
    """The attempt's sbatch command sending `new_script` instead, its log beside it (Slurm's %j kept)."""
    log = log_path(new_script.parent, new_script)
    sent = []
    for index, arg in enumerate(argv):
        if index > 0 and argv[index - 1] == "--output":
            sent.append(log)
        elif arg.startswith("--output="):
            sent.append(f"--output={log}")
        elif arg == old_script:
            sent.append(str(new_script))
        else:
            sent.append(arg)
    return sent


def record_continuation(connection: sqlite3.Connection, workdir: Path, row: PriorAttempt, attempt: int,
                        decision: ResumeDecision | None, me: processes.ProcessId, origin: str = "resubmit",
                        setup: AttemptSetup | None = None) -> RecordedContinuation:
    """The script row and the attempt (SUBMITTING), in the caller's transaction; the file is written later.

    `row` is the failed attempt as `resubmit` selects it: its launch's
    template, options and uuid, its script and its sbatch argv. `origin` is
    what sent it: 'resubmit', or 'continue' for a job that asked for its own.
    `decision` None is an experiment sent with its own command in a new
    script, because `setup` changes its resources or template.
    """
    share_as_launched(row.options)  # its claim file now, its script when it is written
    path = continuation_script_path(workdir, row.name, attempt)
    if setup is None:
        resources = cast("SlurmLaunchOptions",
                         launch_options_from_record(json.loads(row.options or "{}"), SLURM)).resources
        template_text, template_path = row.template_text or SBATCH_TEMPLATE_DEFAULT, row.template_path
    else:
        resources, template_text, template_path = setup.resources, setup.template_text, setup.template_path
    command = decision.command if decision is not None else row.cmd
    text = continuation_script(template_text, template_path, command, path, resources, row.name)
    if row.uuid and row.cwd:  # a launch recorded before launches had a uuid cannot be named by its claim lines
        claim = Claim(claim_file(row.train_dir, row.cwd, row.name), sys.executable, str(workdir), row.uuid, row.name,
                      str(path), policy_tmpdir(row.cmd, row.train_dir, row.cwd))
        text = with_claim(text, claim)
        try:
            make_claim_file(claim.claim_file)  # a launch from before claims has none yet
        except OSError:
            pass  # the job then says it cannot open it
    now = utcnow()
    script_id = insert(connection, NewScript(
        experiment_id=row.experiment_id, path=str(path), text=text, sha256=sha256_text(text), created_at=now,
    ))
    assert row.script_path is not None  # only an attempt that ran a recorded script continues in a new one
    own_argv = continuation_argv(without_tag(json.loads(row.argv)), row.script_path, path)
    if setup is not None:
        own_argv = with_resources(own_argv, setup.resources)
    own_argv = run_from(own_argv, row.cwd, text)
    log = log_path(path.parent, path)
    submission_id = insert(connection, NewSubmission(
        experiment_id=row.experiment_id, script_id=script_id, attempt=attempt, argv=own_argv, log_path=log,
        state=states.SUBMITTING, intended_at=now, updated_at=now, host=me.host, runner_pid=me.pid,
        runner_start=me.start, origin=origin, parent_submission_id=row.id, options=setup.options if setup else None,
    ))
    note = decision.message if decision is not None else "its own command in a new script"
    if setup is not None:
        note += f", with {changes_text(setup.options)}"
    writes.add_state_change(connection, submission_id, states.SUBMITTING, now, f"{origin}: {note}")
    if decision is not None:
        note_outcome(connection, decision.pending, submission_id, now)
    tagged = own_argv
    if row.uuid:
        tagged = with_tag(own_argv, submission_tag(row.uuid, submission_id))
        writes.set_argv(connection, submission_id, tagged)
    return RecordedContinuation(submission_id, tagged, own_argv, path, text, log)
