"""What every backend's launch shares: the options common to all, how values settle, and the launch record.

`python_setting` checks the one shared option that names a program: the
training environment's interpreter (--python, PBT_TRACK_PYTHON).

A launch reads its options from either command line (or from a record, for a
resubmission), then writes a launches row and its experiments rows before its
first submission. Nothing here names a backend: each one's folder under
`backends/` holds its own options and how it plans and sends its jobs, and
`backends.options` puts the whole table together.
"""
