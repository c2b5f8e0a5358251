"""pbt-track: launch Population Based Training runs and keep a record of every job."""

__version__ = "0.1.0"
