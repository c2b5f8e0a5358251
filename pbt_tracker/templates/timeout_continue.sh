#!/bin/bash
# pbt-track template: the experiment runs under `timeout` for at most --slurm_timeout
# (a GNU duration: 3600, 90m, 23h, 1.5h; 0 means no limit). When the limit stops it, the job
# asks `pbt-track continue` for its continuation (a PBT policy resumes from its latest own
# checkpoint), which is recorded as the next attempt before sbatch sends it, and exits 124:
# Slurm records this job FAILED 124, the record shows the continuation. A crash exits with the
# experiment's own code, so it is never recorded COMPLETED. A requeued job (a node failure or a
# preemption with requeue) does not run its command again from the checkpoint it was sent with:
# it hands the experiment over to a continuation at once and exits with pbt-track's code.
# pbt-track is named by the absolute path of the pbt-track that wrote the script (the template's
# PBT_TRACK), so a job whose environment is the training one, without pbt-track on its PATH, still
# reaches it. The continuation is sent without SLURM_RESTART_COUNT, or it would take itself for a
# requeued job.
workdir=$$(dirname "$FILENAME")
if [ "$$(basename "$$workdir")" = continuations ]; then workdir=$$(dirname "$$workdir"); fi
job=$${SLURM_ARRAY_JOB_ID:+$${SLURM_ARRAY_JOB_ID}_$${SLURM_ARRAY_TASK_ID}}
job=$${job:-$$SLURM_JOB_ID}

# Set up the job's environment on the lines below (conda activate ..., cd ...).

if [ "$${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then
    echo "pbt-track: job $$job was requeued; its experiment continues in a new attempt" >&2
    env -u SLURM_RESTART_COUNT $PBT_TRACK continue --workdir "$$workdir" --job "$$job"
    exit $$?
fi
timeout $TIMEOUT $CMD
status=$$?
if [ "$$status" -eq 124 ]; then
    echo "pbt-track: the experiment reached its time limit ($TIMEOUT) and was stopped (exit 124)" >&2
    env -u SLURM_RESTART_COUNT $PBT_TRACK continue --workdir "$$workdir" --job "$$job" \
        || echo "pbt-track: no continuation was sent; pbt-track watch or resubmit-failed resumes it" >&2
fi
exit "$$status"
