"""An NGC launch's options: the job template, print-only, and no pause by default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pbt_tracker.backends.ngc.option_rows import COMMON_DEFAULTS, OPTION
from pbt_tracker.launch.options import LaunchOptions, common_fields


@dataclass(frozen=True)
class NgcLaunchOptions(LaunchOptions):
    """An NGC launch's own options."""

    pause_between: float = COMMON_DEFAULTS["pause_between"]
    job_template: str | None = OPTION["ngc_job_template"].default
    print_only: bool = OPTION["ngc_print_only"].default


def ngc_launch_options(settled: dict[str, Any], recorded: bool) -> NgcLaunchOptions:
    return NgcLaunchOptions(**common_fields(settled), job_template=settled["ngc_job_template"],
                            print_only=settled["ngc_print_only"])
