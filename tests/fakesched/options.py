"""The fake backend's row of the launch option table, and its options dataclass.

Its one option shows that a backend's own option reaches both command lines,
the record, and a resubmission that reads the record back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pbt_tracker.launch.option_table import Option
from pbt_tracker.launch.options import LaunchOptions, common_fields
from tests.fakesched import NAME

OPTIONS = (Option("fakesched_queue", str, "default", "Fake scheduler: the queue its jobs wait in.", NAME),)


@dataclass(frozen=True)
class FakeLaunchOptions(LaunchOptions):
    queue: str = "default"


def fake_launch_options(settled: dict[str, Any], recorded: bool) -> FakeLaunchOptions:
    return FakeLaunchOptions(**common_fields(settled), queue=settled["fakesched_queue"])
