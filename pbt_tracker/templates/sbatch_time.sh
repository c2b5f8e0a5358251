#!/bin/bash
#SBATCH --time=$TIMEOUT
# pbt-track template: Slurm stops the job after --slurm_timeout (a Slurm time: 90, 24:00:00,
# 1-00:00:00; 0 means no limit) and records it TIMEOUT.
# Set up the job's environment on the lines below (conda activate ..., cd ...).

$CMD
