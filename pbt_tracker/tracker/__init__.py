"""Backend-neutral operations on a workdir's record: sync, cancel, resubmit-failed, and the launches.

Each asks the registry (`pbt_tracker.backends`) for the backend a row recorded and calls its hooks;
nothing here names a backend.
"""
