#!/bin/bash
#SBATCH --export=ALL
# pbt-track template: the job runs the experiment's command with the environment that
# `pbt-track submit` (or `resubmit-failed`) ran in, PATH and VIRTUAL_ENV included, and in
# the directory it ran in. So activate the virtualenv (or conda env) before submitting;
# nothing here activates one.

$CMD
