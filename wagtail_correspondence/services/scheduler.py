"""The scheduler: every periodic job of WAGTAIL_CORRESPONDENCE["SCHEDULED_JOBS"] on its
interval (``manage.py correspondence_scheduler``).

Each job has a row (models.ScheduledJob). A scheduler starts a job only by moving its
``next_run_at`` one interval ahead in a conditional update, so however many schedulers run
(one per web host, say), each job starts once per interval; while it runs, ``held_until``
keeps the others from starting it again, and a scheduler that dies mid-job lets go when that
passes. Jobs run in the scheduler's process, one after the other: one that fails is logged
and recorded, and the others run as usual; one whose function does not import (yet) is
skipped with a log line.
"""

import datetime
import logging
import os
import socket
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from ..conf import get_setting
from ..models import JobOutcome, ScheduledJob

logger = logging.getLogger(__name__)

RESULT_CHARS = 2000


@dataclass(frozen=True)
class Job:
    name: str
    path: str
    every: float  # seconds


def configured_jobs(names=None):
    """The jobs of the settings (validated), or only those named."""
    jobs, seen = [], set()
    for index, entry in enumerate(get_setting("SCHEDULED_JOBS")):
        where = f"WAGTAIL_CORRESPONDENCE['SCHEDULED_JOBS'][{index}]"
        if not isinstance(entry, dict) or set(entry) != {"name", "job", "every"}:
            raise ImproperlyConfigured(f"{where} must be a dict with the keys name, job and every")
        name, path, every = entry["name"], entry["job"], entry["every"]
        if not isinstance(name, str) or not name or len(name) > 100 or name in seen:
            raise ImproperlyConfigured(f"{where}['name'] must be a unique text of at most 100 characters")
        if not isinstance(path, str) or "." not in path:
            raise ImproperlyConfigured(f"{where}['job'] must be the dotted path of a function")
        if isinstance(every, bool) or not isinstance(every, (int, float)) or not 0 < every < 10 ** 8:
            raise ImproperlyConfigured(f"{where}['every'] must be a positive number of seconds")
        seen.add(name)
        jobs.append(Job(name, path, float(every)))
    if names:
        unknown = set(names) - seen
        if unknown:
            raise ImproperlyConfigured(f"No scheduled job named {', '.join(sorted(unknown))}; the jobs are "
                                       f"{', '.join(job.name for job in jobs)}")
        jobs = [job for job in jobs if job.name in names]
    return jobs


def scheduler_id():
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def _seconds(value):
    return datetime.timedelta(seconds=value)


def claim(job, holder, now=None):
    """Start ``job`` if it is due and nobody runs it: True if this scheduler may run it now."""
    now = now or timezone.now()
    ScheduledJob.objects.get_or_create(name=job.name, defaults={"next_run_at": now})
    hold = max(job.every, float(get_setting("BACKGROUND")["JOB_HOLD_SECONDS"]))
    due = Q(next_run_at__isnull=True) | Q(next_run_at__lte=now) | Q(next_run_at__gt=now + _seconds(job.every))
    free = Q(held_until__isnull=True) | Q(held_until__lte=now)
    return bool(ScheduledJob.objects.filter(due, free, name=job.name).update(
        next_run_at=now + _seconds(job.every), held_by=holder[:100], held_until=now + _seconds(hold),
        last_started_at=now))


def execute(job):
    """Call the job's function. Returns (outcome, text); never raises an Exception."""
    try:
        function = import_string(job.path)
    except ImportError as exc:
        logger.info("Scheduled job %s skipped: %s cannot be imported (%s)", job.name, job.path, exc)
        return JobOutcome.SKIPPED, f"{job.path} cannot be imported: {exc}"
    except Exception as exc:  # the module is there but broken
        logger.exception("Scheduled job %s failed to import", job.name)
        return JobOutcome.FAILED, f"{type(exc).__name__}: {exc}"
    try:
        result = function()
    except Exception as exc:
        logger.exception("Scheduled job %s failed", job.name)
        return JobOutcome.FAILED, f"{type(exc).__name__}: {exc}"
    finally:
        close_old_connections()  # a job that broke its connection must not break the next one
    return JobOutcome.OK, "" if result is None else str(result)


def finish(job, holder, outcome, text):
    ScheduledJob.objects.filter(name=job.name, held_by=holder[:100]).update(
        held_by="", held_until=None, last_finished_at=timezone.now(), last_outcome=outcome,
        last_result=text[:RESULT_CHARS], runs=F("runs") + 1,
        failures=F("failures") + (1 if outcome == JobOutcome.FAILED else 0))


def run_due(jobs, holder, stop=None, report=None):
    """One pass: every due job that this scheduler can claim, in order. ``stop`` (an Event)
    ends the pass between two jobs; ``report(job, outcome, text)`` is told each outcome."""
    ran = []
    for job in jobs:
        if stop is not None and stop.is_set():
            break
        try:
            if not claim(job, holder):
                continue
        except Exception:  # the database is away: try again on the next pass
            logger.exception("Could not claim scheduled job %s", job.name)
            close_old_connections()
            continue
        try:
            outcome, text = execute(job)
        except BaseException:  # interrupted (a second Ctrl+C): recorded, then let through
            _finish_quietly(job, holder, JobOutcome.FAILED, "interrupted")
            raise
        _finish_quietly(job, holder, outcome, text)
        ran.append((job, outcome, text))
        if report is not None:
            report(job, outcome, text)
    return ran


def _finish_quietly(job, holder, outcome, text):
    try:
        finish(job, holder, outcome, text)
    except Exception:
        logger.exception("Could not record the outcome of scheduled job %s", job.name)
        close_old_connections()


def seconds_to_next(jobs, now=None, longest=60.0):
    """How long to sleep before a job may be due (at least 0.2 s, at most ``longest``)."""
    now = now or timezone.now()
    shortest = min([longest] + [job.every for job in jobs])
    try:
        rows = {name: (next_run, held) for name, next_run, held in ScheduledJob.objects.filter(
            name__in=[job.name for job in jobs]).values_list("name", "next_run_at", "held_until")}
    except Exception:
        logger.exception("Could not read the scheduled jobs")
        close_old_connections()
        return shortest
    waits = []
    for job in jobs:
        moments = [moment for moment in rows.get(job.name, ()) if moment is not None]
        waits.append((max(moments) - now).total_seconds() if moments else 0)
    return min(max(min(waits, default=shortest), 0.2), shortest)


def serve(jobs, holder, stop, report=None, longest=60.0):
    """Run due jobs until ``stop`` (a threading.Event) is set; sleeps are cut short by it."""
    while not stop.is_set():
        close_old_connections()
        run_due(jobs, holder, stop=stop, report=report)
        close_old_connections()
        if stop.is_set():
            break
        stop.wait(seconds_to_next(jobs, longest=longest))
