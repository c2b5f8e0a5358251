"""A backend that lives only in the tests: its scheduler is a small JSON file in the workdir.

It is the proof of the seam. Registered through the registry's public ways
(`pbt_tracker.backends.register`, or PBT_TRACK_BACKENDS for a `pbt-track`
process), it goes through submit, sync, report, cancel and resubmit-failed
without pbt-track knowing it: nothing under pbt_tracker/ names it.

- `queue`: the scheduler (submit, list, cancel), and the helpers a test
  uses to move its jobs along as a real scheduler would;
- `options`: its row of the launch option table and its options dataclass;
- `launch`: its launch and its resubmitter, recorded as every backend records;
- `backend`: the facade, the hooks of `pbt_tracker.backends.base.Backend`.
"""

NAME = "fakesched"
