"""Run descriptions that ship with pbt-track, to try it and to copy from."""
