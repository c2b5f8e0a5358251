"""The Slurm backend, all of it: sbatch scripts and arrays, squeue/sacct/scontrol and their parsing, the
evidence rules that move a job's state, chains, continuations, resubmission, cancel and scancel.sh.

`backend.SlurmBackend` is what the rest of pbt-track sees (the seam in `backends.base`); every other
module here serves it. The name is defined here so that the modules of this folder can name their
backend without importing its facade, whose hooks import them.
"""

NAME = "slurm"
