"""The launcher, with IsaacGymEnvs' command line: `python -m pbt_tracker.launcher.run`."""
