"""The processes backend's rows of the launch option table, the original launcher's flags for it.

Apart from the dataclass they settle into (`options`), because every
`pbt-track --help` reads them to build submit's options and needs nothing else.
"""

from __future__ import annotations

from pbt_tracker.backends.processes import NAME as PROCESSES
from pbt_tracker.launch.option_table import Option

OPTIONS: tuple[Option, ...] = (
    Option("num_gpus", int, 1, "Processes backend: local GPUs to use.", PROCESSES),
    Option("max_parallel", int, 4, "Processes backend: experiments at once.", PROCESSES),
    Option("experiments_per_gpu", int, -1, "Processes backend: experiments per GPU (-1: leave "
           "CUDA_VISIBLE_DEVICES alone).", PROCESSES),
)
OPTION = {option.name: option for option in OPTIONS}
