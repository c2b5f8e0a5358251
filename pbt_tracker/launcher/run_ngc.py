"""The NGC backend's flags, as the original launcher has them (the backend itself is not wired yet)."""

from __future__ import annotations

import argparse

from pbt_tracker.launch_options import NGC, add_arguments


def add_ngc_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """--ngc_job_template and --ngc_print_only; with them --pause_between defaults to 0, as in the original."""
    return add_arguments(parser, NGC)
