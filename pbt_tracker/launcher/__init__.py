"""The launcher, with IsaacGymEnvs' command line: `python -m pbt_tracker.launcher.run`.

`run` parses the original's flags and hands the launch to the chosen backend's `launch` hook,
`loader` finds the RUN_DESCRIPTION (also one built with IsaacGymEnvs' own classes,
`foreign_description`, and one read by the training environment's interpreter: `describe_child`
runs there, `elsewhere` rebuilds what it answers), and `run_slurm`, `run_processes` and `run_ngc` keep the original's module
and function names; what each launch prints is its backend's.
"""
