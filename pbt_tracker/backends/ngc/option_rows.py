"""NGC's rows of the launch option table, and the shared option whose default differs on NGC.

Apart from the dataclass they settle into (`options`), because every
`pbt-track --help` reads them to build submit's options and needs nothing else.
"""

from __future__ import annotations

from types import MappingProxyType

from pbt_tracker.backends.ngc import NAME as NGC
from pbt_tracker.launch.option_table import Option

OPTIONS: tuple[Option, ...] = (
    Option("ngc_job_template", str, None, "NGC backend: file with the job's command line template.", NGC,
           path="file"),
    Option("ngc_print_only", bool, False, "NGC backend: true: print the commands, run nothing (alone: true).", NGC,
           bare_is_true=True),
)
OPTION = {option.name: option for option in OPTIONS}

# The original's NGC backend sets `pause_between=0`: ngc queues a job and answers at once.
COMMON_DEFAULTS = MappingProxyType({"pause_between": 0.0})
