"""`python -m pbt_tracker`: the `pbt-track` command, for jobs that know their interpreter but not the PATH."""

from pbt_tracker.cli import main

main()
