"""The NGC backend: one `ngc batch run` command per experiment, each on record before it runs.

`backend.NgcBackend` is the seam's side of it; the name is defined here so that the modules of this
folder can name their backend without importing the facade, whose hooks import them.
"""

NAME = "ngc"
