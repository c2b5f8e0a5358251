"""What every backend's launch shares: the table of launch options, the settled options, and the launch record.

A launch reads its options from either command line (or from a record, for a
resubmission), then writes a launches row and its experiments rows before its
first submission; a backend's own folder holds how it plans and sends its jobs.
"""
