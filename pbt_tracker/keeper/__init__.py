"""`pbt-track watch`: the keeper that keeps a population alive until it is done.

`loop` runs the passes (sync, read, decide, act), `rules` decides, `actions`
resumes and cancels, `lease` keeps a second keeper out, `events` runs the
user's hooks, `job` sends the keeper itself as a Slurm job. A launch recorded
with run module "pbt_tracker.keeper" is a keeper job's.
"""
