"""NGC: one `ngc` command per experiment; pbt-track records its answer and follows the job no further.

NGC's own service and CLI keep the job's later states (`ngc batch list`), and
pbt-track has no way to ask them on a machine without NGC access, so
SUBMITTED is the last state the record holds; sync leaves these jobs alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pbt_tracker.backends.base import COMMAND

if TYPE_CHECKING:
    from pbt_tracker.store import Store
    from pbt_tracker.tracker.record import Echo, SubmittedJob
    from pbt_tracker.tracker.sync import SyncResult

CANCEL_ADVICE = "NGC jobs are cancelled with the ngc CLI (ngc batch kill ID)"
LOG_ADVICE = "NGC keeps the logs of its jobs; read them with the ngc CLI or in NGC's web interface"
REPORT_NOTE = (
    "Note: pbt-track records NGC jobs until ngc accepts them (SUBMITTED) or refuses them (SUBMIT_FAILED); "
    "their later states are NGC's to show: `ngc batch list`"
)


class NgcBackend:
    name = "ngc"
    requeues_jobs = False
    follows_jobs = False
    cancels_with_scancel = False
    stops_locally = False
    cancel_advice = CANCEL_ADVICE
    report_note = REPORT_NOTE
    log_advice = LOG_ADVICE
    resubmission = COMMAND

    def sync(self, store: Store, result: SyncResult) -> None:
        """Nothing to ask: NGC's answer at submission is the last the record gets."""

    def resend(self, store: Store, jobs: list[tuple[int, str, list[str]]], echo: Echo) -> list[SubmittedJob]:
        from pbt_tracker.tracker.ngc import send_commands

        return send_commands(store, jobs, echo, pause_between=0.0)

    def check_available(self) -> None:
        from pbt_tracker.tracker.ngc import require_ngc

        require_ngc()
