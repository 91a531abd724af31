"""Send the deadline notices of the register: reminders, overdue alerts and escalations.

Once (for cron): ``manage.py correspondence_sla_sweep``. As a small daemon beside the task
worker: ``manage.py correspondence_sla_sweep --every 60``; SIGTERM or Ctrl+C lets the
current sweep finish and then stops. ``--now`` sweeps as of another moment (tests,
backfills). Each notice goes out once however often and from however many places the
sweep runs (see services.sla).
"""

import datetime
import logging
import signal
import threading
import time
from argparse import ArgumentTypeError

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from ...services import sla

logger = logging.getLogger(__name__)


class _Stop(Exception):
    """Raised by the signal handler to cut a sleep between two sweeps short."""


def parse_moment(value):
    """An ISO 8601 date or date and time; without an offset, in the site's time zone."""
    text = (value or "").strip()
    try:
        moment = parse_datetime(text)
        if moment is None:
            day = parse_date(text)
            if day is not None:
                moment = datetime.datetime.combine(day, datetime.time.min)
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(f"--now: '{value}' is not an ISO 8601 date and time, e.g. 2026-03-02T15:00+01:00")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def positive_seconds(value):
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0
    if not 0 < seconds < float("inf"):
        raise ArgumentTypeError(f"'{value}' is not a positive number of seconds")
    return seconds


class Command(BaseCommand):
    help = ("Send the register's deadline reminders, overdue alerts and escalations that are due (each once). "
            "Runs one sweep; with --every SECONDS, sweeps until stopped (SIGTERM or Ctrl+C).")

    def add_arguments(self, parser):
        parser.add_argument("--every", type=positive_seconds, metavar="SECONDS",
                            help="Sweep again every SECONDS until stopped, instead of once")
        parser.add_argument("--now", metavar="ISO",
                            help="Sweep as of this moment (ISO 8601; no offset: the site's time zone) instead of now")

    def handle(self, *args, every=None, now=None, **options):
        moment = parse_moment(now) if now is not None else None
        if every is None:
            result = sla.sweep(now=moment)
            if moment is not None:
                self.stdout.write(f"As of {moment.isoformat()}: {result}")
            else:
                self.stdout.write(str(result))
            return
        if moment is not None:
            raise CommandError("--now and --every cannot be combined: a loop sweeps as of the current time.")
        self._loop(every, options["verbosity"])

    # The loop ----------------------------------------------------------------------------

    def _request_stop(self, signum, frame):
        if self._stop_requested and not self._sleeping and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl+C does not wait for a stuck sweep
        self._stop_requested = True
        if self._sleeping:
            raise _Stop

    def _install_handlers(self):
        previous = {}
        if threading.current_thread() is not threading.main_thread():
            return previous  # signals only reach the main thread; Ctrl+C still raises KeyboardInterrupt
        previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, self._request_stop)
        # Left alone when ignored (a background job of a non-interactive shell, as in `make demo`).
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            previous[signal.SIGINT] = signal.signal(signal.SIGINT, self._request_stop)
        return previous

    def _loop(self, every, verbosity):
        self._stop_requested = False
        self._sleeping = False
        previous = self._install_handlers()
        if verbosity >= 1:
            self.stdout.write(f"Sweeping SLA deadlines every {every:g} s; stop with SIGTERM or Ctrl+C.")
        sweeps = 0
        try:
            while not self._stop_requested:
                close_old_connections()  # as a request would: drop broken or expired connections
                try:
                    result = sla.sweep()
                except Exception as exc:  # a locked or restarting database must not end the loop
                    logger.exception("SLA sweep failed")
                    self.stderr.write(f"{timezone.localtime():%Y-%m-%d %H:%M:%S} sweep failed: {exc}")
                else:
                    sweeps += 1
                    if verbosity >= 2 or (verbosity >= 1 and (result.created or result.sent)):
                        self.stdout.write(f"{timezone.localtime():%Y-%m-%d %H:%M:%S} {result}")
                close_old_connections()
                try:
                    self._sleeping = True
                    if not self._stop_requested:
                        time.sleep(every)
                except _Stop:
                    pass
                finally:
                    self._sleeping = False
        except (KeyboardInterrupt, _Stop):
            pass
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if verbosity >= 1:
            self.stdout.write(f"Stopped after {sweeps} sweeps.")
