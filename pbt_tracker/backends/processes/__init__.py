"""The local processes backend: a run description's experiments as process groups on this machine,
recorded like Slurm jobs, ended by their runner, by cancel, or found ended by a sync.

`backend.ProcessesBackend` is the seam's side of it; the name is defined here so that the modules of
this folder can name their backend without importing the facade, whose hooks import them.
"""

NAME = "processes"
