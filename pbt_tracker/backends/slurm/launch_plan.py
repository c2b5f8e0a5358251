"""Planning a Slurm launch: every script, log and sbatch command worked out before anything is written.

Planning reads the template and asks the cluster's MaxArraySize, but writes
nothing and submits nothing: every refusal comes before the record or the
workdir changes.
"""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

from pbt_tracker.backends.slurm import commands as slurm
from pbt_tracker.backends.slurm.array import (
    ArrayTask,
    array_chunks,
    array_log_path,
    array_name,
    array_sbatch_argv,
    array_script_path,
    array_spec,
    render_array_script,
)
from pbt_tracker.backends.slurm.claim import Claim, check_shell, claim_file, with_claim
from pbt_tracker.backends.slurm.launch_checks import (
    check_log_names_fit,
    check_script_syntax,
    check_template_has_no_array,
    check_workdir_has_no_percent,
)
from pbt_tracker.backends.slurm.options import SlurmLaunchOptions
from pbt_tracker.backends.slurm.script import (
    SBATCH_TEMPLATE_DEFAULT,
    check_template,
    launch_script_path,
    log_path,
    render_script,
    sbatch_argv,
    names_its_job,
    sbatch_comment,
    sbatch_directives,
    script_path,
)
from pbt_tracker.backends.slurm.timeout import check_timeout_for_template
from pbt_tracker.files import absolute, read_template_text
from pbt_tracker.launch.specs import checked_specs
from pbt_tracker.pbt.resume import policy_tmpdir
from pbt_tracker.run_description import ExperimentSpec, RunDescription


@dataclass(frozen=True)
class PlannedJob:
    spec: ExperimentSpec
    script_path: Path
    script_text: str
    log_path: str
    argv: list[str]
    claim_file: str = ""  # the file the job's claim lines lock, made with the train dirs


@dataclass(frozen=True)
class PlannedArray:
    """Experiments with the same #SBATCH lines, sent as the tasks of one `sbatch --array`."""

    positions: list[int]  # task N runs plan.jobs[positions[N]]
    script_path: Path
    script_text: str
    log_path: str
    argv: list[str]


@dataclass(frozen=True)
class SlurmPlan:
    """A launch worked out in full, before anything touches the disk or Slurm."""

    run_description: RunDescription
    options: SlurmLaunchOptions
    template_text: str
    jobs: list[PlannedJob]
    warnings: list[str]
    launch_uuid: str = field(default_factory=lambda: uuid.uuid4().hex)
    arrays: list[PlannedArray] = field(default_factory=list)


def read_template(path: str | None) -> tuple[str, list[str]]:
    if path is None:
        return SBATCH_TEMPLATE_DEFAULT, []
    text = read_template_text(path, "template", "--slurm_sbatch_template", "a shell script")
    return text, check_template(text, path)


def plan_slurm_launch(run_description: RunDescription, options: SlurmLaunchOptions) -> SlurmPlan:
    """The launch with each script at its original name, `sbatch_<experiment>.sh`.

    Whether another launch's record holds that name is known only inside the
    transaction that records this launch (`named_for_launch`).
    """
    template_text, warnings = read_template(options.template_path)
    check_template_has_no_array(template_text, options.template_path or "built-in")
    check_shell(template_text, options.template_path or "built-in")
    warnings += check_timeout_for_template(template_text, options.resources.timeout, options.template_path or "built-in")
    workdir = absolute(options.workdir)
    check_workdir_has_no_percent(workdir)
    specs = checked_specs(run_description, options.train_dir)
    check_log_names_fit(spec.name for spec in specs)
    launch_uuid = uuid.uuid4().hex
    jobs = _planned_jobs(specs, [script_path(workdir, spec.name) for spec in specs], template_text, options,
                         launch_uuid)
    check_script_syntax(jobs[0].script_text, options.template_path or "built-in")
    plan = SlurmPlan(run_description, options, template_text, jobs, warnings, launch_uuid)
    if options.array:
        plan.arrays.extend(plan_arrays(plan, workdir))
    return plan


def _planned_jobs(
    specs: list[ExperimentSpec], paths: list[Path], template_text: str, options: SlurmLaunchOptions,
    launch_uuid: str,
) -> list[PlannedJob]:
    """Each script as the template renders it, with the lines that claim its experiment (`claim`)."""
    jobs = []
    workdir, cwd = str(absolute(options.workdir)), os.getcwd()
    for spec, path in zip(specs, paths):
        text = render_script(
            template_text,
            cmd=spec.cmd,
            filename=str(path),
            resources=options.resources,
            append_cmd=options.template_path is None,
            name=spec.name,
        )
        claim = Claim(claim_file(spec.train_dir, cwd, spec.name), sys.executable, workdir, launch_uuid, spec.name,
                      str(path), policy_tmpdir(spec.cmd, spec.train_dir, cwd))
        text = with_claim(text, claim)
        log = log_path(absolute(options.workdir), path)
        name = None if names_its_job(text) else spec.name
        jobs.append(PlannedJob(spec, path, text, log, sbatch_argv(path, log, options.resources, sbatch_comment(text), name),
                               claim.claim_file))
    return jobs


def named_for_launch(plan: SlurmPlan, held: set[str], launch_id: int) -> SlurmPlan:
    """The plan with a script of launch `launch_id`'s own for each experiment whose script path is `held`.

    Scripts, logs and the arrays' scripts that run them are rendered again
    with the new paths; arrays keep their members.
    """
    clashing = [job for job in plan.jobs if str(job.script_path) in held]
    if not clashing:
        return plan
    workdir = absolute(plan.options.workdir)
    taken = held | {str(job.script_path) for job in plan.jobs}
    paths = []
    for job in plan.jobs:
        path = job.script_path
        if str(path) in held:
            path = launch_script_path(workdir, job.spec.name, launch_id, taken)
            taken.add(str(path))
        paths.append(path)
    jobs = _planned_jobs([job.spec for job in plan.jobs], paths, plan.template_text, plan.options, plan.launch_uuid)
    arrays = [_planned_array(plan.options, jobs, array.positions, array.script_path) for array in plan.arrays]
    return replace(plan, jobs=jobs, arrays=arrays)


def plan_arrays(plan: SlurmPlan, workdir: Path) -> list[PlannedArray]:
    """Group the jobs by their #SBATCH lines, in launch order, cut at the cluster's MaxArraySize."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for position, job in enumerate(plan.jobs):
        groups.setdefault(sbatch_directives(job.script_text), []).append(position)
    limit = slurm.max_array_size()
    arrays: list[PlannedArray] = []
    for positions in groups.values():
        for chunk in array_chunks(len(positions), limit):
            path = array_script_path(workdir, plan.launch_uuid, len(arrays))
            arrays.append(_planned_array(plan.options, plan.jobs, [positions[index] for index in chunk], path))
    return arrays


def _planned_array(options: SlurmLaunchOptions, jobs: list[PlannedJob], members: list[int], path: Path) -> PlannedArray:
    first = jobs[members[0]]
    tasks = [ArrayTask(jobs[p].script_path, jobs[p].script_text, jobs[p].log_path) for p in members]
    log = array_log_path(absolute(options.workdir), path)
    spec = array_spec(len(members), options.array_limit)
    return PlannedArray(members, path, render_array_script(sbatch_directives(first.script_text), tasks), log,
                        array_sbatch_argv(path, log, spec, options.resources, sbatch_comment(first.script_text),
                                          _array_name(first.script_text, [jobs[p].spec.name for p in members])))


def _array_name(script_text: str, names: list[str]) -> str | None:
    return None if names_its_job(script_text) else array_name(names)


