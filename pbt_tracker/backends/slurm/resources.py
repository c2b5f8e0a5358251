"""What a resubmission changes of its launch's resources: partition, CPUs, GPUs, time limit, template.

After sbatch refused a job (a partition that does not exist, more CPUs
than a node has), sending the same script again fails the same way; the
changed values make a new script from the template, and a new sbatch
command. They are recorded on the attempt (`submissions.options`), and
every later attempt of the experiment inherits them, so that the keeper's
resumes keep what a resubmit changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from pbt_tracker.backends.options import launch_options_from_record
from pbt_tracker.backends.slurm import NAME as SLURM
from pbt_tracker.backends.slurm.option_rows import RESOURCE_OPTIONS
from pbt_tracker.backends.slurm.script import SBATCH_TEMPLATE_DEFAULT, SlurmResources

if TYPE_CHECKING:
    from pbt_tracker.backends.slurm.options import SlurmLaunchOptions
    from pbt_tracker.store.next_attempts import PriorAttempt

__all__ = ["RESOURCE_OPTIONS", "AttemptSetup", "attempt_setup", "changes_text", "resubmit_hint", "with_resources"]



@dataclass(frozen=True)
class AttemptSetup:
    resources: SlurmResources
    template_text: str
    template_path: str | None
    options: dict[str, Any]  # what the attempt changes of its launch's options, as recorded


def attempt_setup(row: PriorAttempt, changes: Mapping[str, Any]) -> AttemptSetup | None:
    """The next attempt's resources and template; None where neither it nor an earlier attempt changes any.

    Checked as a launch checks them, before anything is recorded.
    """
    from pbt_tracker.backends.slurm.claim import check_shell
    from pbt_tracker.backends.slurm.launch_checks import check_template_has_no_array
    from pbt_tracker.backends.slurm.launch_plan import read_template
    from pbt_tracker.backends.slurm.timeout import check_timeout_for_template

    options = {**(json.loads(row.attempt_options or "null") or {}), **changes}
    if not options:
        return None
    recorded = {**json.loads(row.options or "{}"), **options}
    resources = cast("SlurmLaunchOptions", launch_options_from_record(recorded, SLURM)).resources
    if "slurm_sbatch_template" in options:
        template_path: str | None = options["slurm_sbatch_template"]
        template_text, _warnings = read_template(template_path)
    else:
        template_path, template_text = row.template_path, row.template_text or SBATCH_TEMPLATE_DEFAULT
    source = template_path or "built-in"
    check_template_has_no_array(template_text, source)
    check_shell(template_text, source)
    check_timeout_for_template(template_text, resources.timeout, source)
    return AttemptSetup(resources, template_text, template_path, options)


_REFUSALS = (  # words of sbatch's refusal, and the option that asks for something else
    (("partition",), "--slurm_partition NAME"),
    (("processors requested", "cpu", "node configuration is not available"), "--slurm_cpus_per_gpu N"),
    (("gres", "generic resource", "gpu"), "--slurm_gpus_per_job N"),
    (("time limit",), "--slurm_timeout TIME"),
)


def resubmit_hint(errors: Sequence[str | None]) -> str:
    """How to send refused jobs again: with the option that changes what sbatch refused, where its answer says.

    The same script sent as it is would be refused the same way.
    """
    said = " ".join(error or "" for error in errors).lower()
    options = [option for words, option in _REFUSALS if any(word in said for word in words)]
    if not options:
        return " `pbt-track resubmit-failed` sends them again."
    return (f" `pbt-track resubmit-failed {' '.join(options)}` sends them again, asking for what sbatch accepts "
            "(`sinfo -o '%P %c %G %l'` lists partitions, CPUs, GPUs and time limits).")


def changes_text(options: Mapping[str, Any]) -> str:
    """`--slurm_partition gpu --slurm_cpus_per_gpu 8`: what an attempt changed, as the options that change it."""
    return " ".join(f"--{name} {value}" for name, value in options.items())


def with_resources(argv: list[str], resources: SlurmResources) -> list[str]:
    """An sbatch command with its partition, GPUs and CPUs replaced by `resources`' (where the launch put them)."""
    kept: list[str] = []
    skip = False
    for index, arg in enumerate(argv):
        if skip:
            skip = False
        elif index > 0 and arg in ("-p", "-c") and index + 1 < len(argv) - 1:
            skip = True
        elif not arg.startswith("--gres=gpu:"):
            kept.append(arg)
    added = [*(["-p", resources.partition] if resources.partition else []), f"--gres=gpu:{resources.gpus_per_job}",
             "-c", str(resources.cpus)]
    at = kept.index("--parsable") if "--parsable" in kept else len(kept) - 1
    return [*kept[:at], *added, *kept[at:]]
