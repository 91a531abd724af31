"""Send the outbox's due dispatches (``services.dispatch.process_due``): those whose task was
lost, retries whose time has come on a backend that cannot defer tasks. Reports the
dispatches whose outcome is unknown (left ``sending`` by a worker that stopped), which are
never resent automatically.

Once (for cron): ``manage.py correspondence_dispatch``. As a loop: ``--every SECONDS``,
stopped by SIGTERM or Ctrl+C after the current sweep. The scheduler
(``correspondence_scheduler``) runs the same sweep as its ``outbox`` job.
"""

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone

from ...services import dispatch as outbox
from ...services.recovery import unknown_outcomes
from ..stopping import StopSignals
from .correspondence_sla_sweep import positive_seconds


class Command(BaseCommand):
    help = ("Send every due dispatch of the outbox once, or with --every SECONDS until stopped; lists the "
            "dispatches whose outcome is unknown (never resent automatically).")

    def add_arguments(self, parser):
        parser.add_argument("--every", type=positive_seconds, metavar="SECONDS",
                            help="Sweep again every SECONDS until stopped (SIGTERM or Ctrl+C), instead of once")
        parser.add_argument("--limit", type=int, default=500, help="At most this many dispatches per sweep")

    def handle(self, *args, every=None, limit=500, **options):
        verbosity = options["verbosity"]
        if every is None:
            self._sweep(limit, verbosity, always=True)
            self._report_unknown(verbosity)
            return
        if verbosity >= 1:
            self.stdout.write(f"Sweeping the outbox every {every:g} s; stop with SIGTERM or Ctrl+C.")
        with StopSignals() as stop:
            try:
                while not stop.requested:
                    close_old_connections()
                    self._sweep(limit, verbosity)
                    close_old_connections()
                    stop.wait(every)
            except KeyboardInterrupt:
                pass
        if verbosity >= 1:
            self.stdout.write("Stopped.")

    def _sweep(self, limit, verbosity, always=False):
        stamp = f"{timezone.localtime():%Y-%m-%d %H:%M:%S}"
        try:
            claimed = outbox.process_due(limit=limit)
        except Exception as exc:  # a locked or restarting database must not end the loop
            self.stderr.write(f"{stamp} outbox sweep failed: {exc}")
            return
        if verbosity >= 1 and (claimed or always):
            self.stdout.write(f"{stamp} {claimed} due dispatches processed")

    def _report_unknown(self, verbosity):
        unknown = (outbox.stale_dispatches() | unknown_outcomes()).distinct()
        count = unknown.count()
        if verbosity >= 1 and count:
            self.stdout.write(f"{count} dispatches whose outcome is unknown (left sending by a stopped worker, or the "
                              "provider did not answer); never resent automatically: check with the provider, then "
                              "send again by hand:")
            for dispatch in unknown.select_related("letter").order_by("claimed_at")[:50]:
                self.stdout.write(f"  {dispatch.letter.reference} {dispatch.channel} to {dispatch.recipient} "
                                  f"(claimed {dispatch.claimed_at:%Y-%m-%d %H:%M:%S})")
