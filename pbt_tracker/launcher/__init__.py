"""The launcher, with IsaacGymEnvs' command line: `python -m pbt_tracker.launcher.run`.

`run` parses the original's flags, `loader` finds the RUN_DESCRIPTION (also one built with
IsaacGymEnvs' own classes, `foreign_description`), and `run_slurm`, `run_processes` and `run_ngc`
keep the original's module names and output; `progress` is `pbt-track submit`'s own.
"""
