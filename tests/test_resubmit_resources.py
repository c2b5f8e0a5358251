"""The pure parts of sending an attempt again with other resources: its sbatch command, and the hint after a refusal."""

from __future__ import annotations

import pytest

from pbt_tracker.backends.slurm.resources import resubmit_hint, with_resources
from pbt_tracker.backends.slurm.script import SlurmResources


def test_the_partition_gpus_and_cpus_of_the_launchs_sbatch_command_are_replaced() -> None:
    argv = ["sbatch", "--chdir=/p", "--comment=pbt-track:u:1", "--gres=gpu:1", "-c", "16", "--parsable",
            "--output", "/w/a.sh-slurm-%j.out", "/w/a.sh"]
    assert with_resources(argv, SlurmResources(gpus_per_job=2, cpus_per_gpu=4, partition="gpu")) == [
        "sbatch", "--chdir=/p", "--comment=pbt-track:u:1", "-p", "gpu", "--gres=gpu:2", "-c", "8", "--parsable",
        "--output", "/w/a.sh-slurm-%j.out", "/w/a.sh"]
    with_partition = ["sbatch", "-p", "debug", "--gres=gpu:1", "-c", "16", "--parsable", "--output", "o", "/w/-c"]
    assert with_resources(with_partition, SlurmResources(cpus_per_gpu=2)) == [
        "sbatch", "--gres=gpu:1", "-c", "2", "--parsable", "--output", "o", "/w/-c"]  # a script named -c stays


@pytest.mark.parametrize(("said", "option"), [
    ("sbatch: error: Batch job submission failed: Invalid partition name specified", "--slurm_partition NAME"),
    ("sbatch: error: Batch job submission failed: More processors requested than permitted", "--slurm_cpus_per_gpu N"),
    ("sbatch: error: Batch job submission failed: Requested node configuration is not available",
     "--slurm_cpus_per_gpu N"),
    ("sbatch: error: Invalid generic resource (gres) specification", "--slurm_gpus_per_job N"),
    ("sbatch: error: Batch job submission failed: Requested time limit is invalid (missing or exceeds some limit)",
     "--slurm_timeout TIME"),
])
def test_the_hint_after_a_refusal_names_the_option_that_changes_what_sbatch_refused(said: str, option: str) -> None:
    assert resubmit_hint([said]) == (
        f" `pbt-track resubmit-failed {option}` sends them again, asking for what sbatch accepts "
        "(`sinfo -o '%P %c %G %l'` lists partitions, CPUs, GPUs and time limits).")


def test_a_refusal_about_something_else_keeps_the_plain_hint() -> None:
    assert resubmit_hint(["sbatch: error: Batch job submission failed: Invalid account or account/partition "
                          "combination specified"]) != " `pbt-track resubmit-failed` sends them again."
    assert resubmit_hint(["sbatch: error: QOSMaxSubmitJobPerUserLimit", None]) == (
        " `pbt-track resubmit-failed` sends them again.")
