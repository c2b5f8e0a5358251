#!/bin/bash
#SBATCH --export=ALL
# pbt-track template: the job runs the experiment's command with the environment that
# `pbt-track submit` ran in, PATH and VIRTUAL_ENV included, and in the directory it ran in;
# later attempts too, whoever sends them (the launch's PATH, VIRTUAL_ENV, CONDA_*, PYTHONPATH
# and LD_LIBRARY_PATH are recorded). So activate the virtualenv (or conda env) before
# submitting; nothing here activates one.

$CMD
