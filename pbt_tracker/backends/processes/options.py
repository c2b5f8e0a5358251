"""A local launch's options, as the original launcher's processes backend has them, and their checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pbt_tracker.backends.processes.option_rows import OPTION
from pbt_tracker.errors import OptionError
from pbt_tracker.launch.options import LaunchOptions, common_fields


@dataclass(frozen=True)
class ProcessesLaunchOptions(LaunchOptions):
    """A local launch's own options."""

    max_parallel: int = OPTION["max_parallel"].default
    num_gpus: int = OPTION["num_gpus"].default
    experiments_per_gpu: int = OPTION["experiments_per_gpu"].default

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_parallel < 1:
            raise OptionError(f"--max_parallel must be 1 or more, not {self.max_parallel}")
        if self.experiments_per_gpu == 0 or self.experiments_per_gpu < -1:
            raise OptionError(
                f"--experiments_per_gpu must be -1 (leave CUDA_VISIBLE_DEVICES alone) or 1 or more, "
                f"not {self.experiments_per_gpu}"
            )
        if self.experiments_per_gpu > 0 and self.num_gpus < 1:
            raise OptionError(f"--num_gpus must be 1 or more with --experiments_per_gpu, not {self.num_gpus}")


def processes_launch_options(settled: dict[str, Any], recorded: bool) -> ProcessesLaunchOptions:
    return ProcessesLaunchOptions(**common_fields(settled), max_parallel=settled["max_parallel"],
                                  num_gpus=settled["num_gpus"], experiments_per_gpu=settled["experiments_per_gpu"])
