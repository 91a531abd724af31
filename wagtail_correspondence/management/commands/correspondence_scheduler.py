"""Run the periodic jobs of WAGTAIL_CORRESPONDENCE["SCHEDULED_JOBS"], each on its interval:
the outbox sweep (``process_due``), recovery of work whose worker died, the register's SLA
sweep, the audit checkpoint and the deletion of expired register exports, by default.

Beside the task worker: ``manage.py correspondence_scheduler``; SIGTERM or Ctrl+C lets the
running job finish, then stops. Several schedulers may run (one per host): each job still
starts once per interval. ``--once`` runs the jobs that are due and exits (for cron);
``--job NAME`` (repeatable) limits it to some jobs. See services.scheduler.
"""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ...models import JobOutcome
from ...services import scheduler
from ..stopping import StopSignals


class Command(BaseCommand):
    help = ("Run every periodic job (outbox sweep, recovery, SLA sweep, audit checkpoint, expired register exports) "
            "on its interval until stopped (SIGTERM or Ctrl+C); each job starts once per interval however many "
            "schedulers run.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run the jobs that are due, then exit")
        parser.add_argument("--job", action="append", dest="jobs", metavar="NAME",
                            help="Only this job (repeatable); the names are those of SCHEDULED_JOBS")

    def handle(self, *args, once=False, jobs=None, **options):
        try:
            selected = scheduler.configured_jobs(jobs)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        self.verbosity = options["verbosity"]
        holder = scheduler.scheduler_id()
        if once:
            ran = scheduler.run_due(selected, holder, report=self._report)
            if not ran and self.verbosity >= 1:
                self.stdout.write("No job was due.")
            return
        if self.verbosity >= 1:
            listing = ", ".join(f"{job.name} every {job.every:g} s" for job in selected)
            self.stdout.write(f"Scheduler {holder}: {listing}. Stop with SIGTERM or Ctrl+C.")
            self.stdout.flush()
        with StopSignals() as stop:
            try:
                scheduler.serve(selected, holder, stop.event, report=self._report)
            except KeyboardInterrupt:
                pass
        if self.verbosity >= 1:
            self.stdout.write("Scheduler stopped.")

    def _report(self, job, outcome, text):
        stamp = f"{timezone.localtime():%Y-%m-%d %H:%M:%S}"
        if outcome == JobOutcome.FAILED:
            self.stderr.write(f"{stamp} {job.name}: failed: {text}")
        elif self.verbosity >= 1:
            self.stdout.write(f"{stamp} {job.name}: {outcome.label.lower()}{': ' + text if text else ''}")
            self.stdout.flush()
