#!/bin/bash
# pbt-track template: the experiment runs under `timeout` for at most --slurm_timeout
# (a GNU duration: 3600, 90m, 23h, 1.5h; 0 means no limit). The job exits with the
# experiment's own exit code, so a crash is recorded FAILED, not COMPLETED; when the
# limit is reached the job says so and exits 124.
# Set up the job's environment on the lines below (conda activate ..., cd ...).

timeout $TIMEOUT $CMD
status=$$?
if [ "$$status" -eq 124 ]; then
    echo "pbt-track: the experiment reached its time limit ($TIMEOUT) and was stopped (exit 124)" >&2
    # CONTINUATION: a later step that continues the stopped experiment goes here.
fi
exit "$$status"
