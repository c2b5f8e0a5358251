"""The operations on a workdir's record: launch, sync, cancel, resubmit."""
