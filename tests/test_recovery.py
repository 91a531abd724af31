"""Work that survives crashes, in process: batch leases, the recovery job (stale batches
resumed, lost tasks marked failed, dispatches left sending shown and never resent), resuming
a batch by hand in the admin and the API, the scheduler and the outbox command. Real worker
processes being killed: test_worker_recovery.py."""

import datetime
import io
import os
import signal

import pytest
from django.core.management import call_command
from django.db import connections, transaction
from django.utils import timezone
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.models import (
    BatchLease,
    BatchRowStatus,
    BatchStatus,
    Dispatch,
    DispatchStatus,
    JobOutcome,
    Letter,
    LetterBatch,
    ScheduledJob,
)
from wagtail_correspondence.services import batch_leases, batches, recovery, scheduler
from wagtail_correspondence.services import dispatch as outbox
from wagtail_correspondence.services.printing import claimable_for_print

from .test_batches import make_batch, template, three_customers  # noqa: F401 (fixtures)


@pytest.fixture
def batch_template(request):
    """test_batches' template: a fragment with the customer's name and balance, a slot."""
    return request.getfixturevalue("template")


ROW_COUNT = 5
ROWS = "customer_id,balance\n" + "".join(f"C-{1 + n % 3},{n}.00\n" for n in range(1, ROW_COUNT + 1))


def started_batch(agent, letter_template, capture, content=ROWS):
    """A checked batch, started; its task is never picked up (no commit, so no worker)."""
    batch = make_batch(agent, letter_template, capture, content=content)
    batches.start_batch(agent, batch)
    batch.refresh_from_db()
    return batch


def lease_of(batch):
    return BatchLease.objects.get(batch=batch)


def after_lease(batch, seconds=1):
    return lease_of(batch).expires_at + datetime.timedelta(seconds=seconds)


def expire(batch):
    """What time does to the lease of a worker that died: it runs out."""
    BatchLease.objects.filter(batch=batch).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))


def log_entries(batch, action):
    return list(ModelLogEntry.objects.for_instance(batch).filter(action=action).order_by("pk"))


def running_task_result(batch, started_ago=600, path="wagtail_correspondence.tasks.run_batch_task"):
    from django_tasks_db.models import DBTaskResult, get_date_max

    return DBTaskResult.objects.create(
        status="RUNNING", started_at=timezone.now() - datetime.timedelta(seconds=started_ago),
        args_kwargs={"args": [batch.pk] if batch else [], "kwargs": {}}, task_path=path, worker_ids=["worker-1"],
        backend_name="default", run_after=get_date_max())


# The lease --------------------------------------------------------------------------------

def test_a_running_batch_holds_a_lease_its_worker_renews(agent, batch_template, django_capture_on_commit_callbacks):
    batch = started_batch(agent, batch_template, django_capture_on_commit_callbacks)
    queued = lease_of(batch)
    assert queued.worker_id == "" and queued.expires_at > timezone.now()  # time to be picked up
    assert batch_leases.liveness(queued) is batch_leases.Liveness.ALIVE

    assert batches.run_batch(batch.pk, limit=3, worker_id="worker-1", task_id="task-1") == 3
    held = lease_of(batch)
    assert (held.worker_id, held.task_id) == ("worker-1", "task-1")
    assert held.expires_at > timezone.now()

    assert batches.run_batch(batch.pk, worker_id="worker-2") == ROW_COUNT - 3
    done = lease_of(batch)
    assert done.worker_id == "worker-2" and done.expires_at is None  # finished: nothing to take over
    assert LetterBatch.objects.get(pk=batch.pk).status == BatchStatus.COMPLETED


# The recovery job ----------------------------------------------------------------------

def test_a_batch_whose_worker_died_is_resumed_by_the_recovery_job(agent, batch_template,
                                                                  django_capture_on_commit_callbacks):
    batch = started_batch(agent, batch_template, django_capture_on_commit_callbacks)
    task = running_task_result(batch)
    # A worker takes the batch, generates three rows, and dies: nothing renews the lease.
    batches.run_batch(batch.pk, limit=3, worker_id="worker-1", task_id=str(task.id))
    assert recovery.recover().resumed == []  # while the lease holds, the batch is alive

    with django_capture_on_commit_callbacks(execute=True):  # the new task runs (immediate backend)
        summary = recovery.recover(now=after_lease(batch))
    assert summary.resumed == [batch.pk]
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED
    assert batch.rows.filter(status=BatchRowStatus.GENERATED).count() == ROW_COUNT == Letter.objects.count()
    assert batch.rows.values("letter").distinct().count() == ROW_COUNT
    references = list(Letter.objects.values_list("reference", flat=True))
    assert sorted(int(reference[-6:]) for reference in references) == list(range(1, ROW_COUNT + 1))  # once, no gap
    # The task table tells the truth: the dead worker's task failed, with the reason.
    task.refresh_from_db()
    assert task.status == "FAILED" and task.exception_class_path == batch_leases.WORKER_LOST
    assert "worker-1" in task.traceback
    [entry] = log_entries(batch, log_actions.BATCH_RESUMED)
    assert entry.user is None and entry.data["automatic"] and entry.data["worker"] == "worker-1"
    assert "lease expired" in entry.data["reason"]
    assert "resumed automatically" in entry.formatter.format_message(entry)


def test_a_check_whose_worker_died_is_checked_again(agent, batch_template, django_capture_on_commit_callbacks):
    batch = batches.create_batch(agent, batch_template, io_upload(ROWS))  # no commit: its check never runs
    assert batch.status == BatchStatus.CHECKING
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.recover(now=after_lease(batch)).resumed == [batch.pk]
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CHECKED and batch.report["valid"] == ROW_COUNT


def io_upload(content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("rows.csv", content.encode())


def test_a_task_still_waiting_in_the_queue_is_waited_for(agent, batch_template, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    batch = started_batch(agent, batch_template, django_capture_on_commit_callbacks)
    monkeypatch.setattr(batch_leases, "task_status", lambda task_id: "READY")
    summary = recovery.recover(now=after_lease(batch))
    assert summary.queued == [batch.pk] and summary.resumed == []
    expire(batch)
    with pytest.raises(ValueError, match="waiting in the task queue"):
        batches.resume_batch(agent, batch)


def test_a_batch_that_keeps_killing_its_worker_stops_for_a_person(agent, batch_template, settings,
                                                                  django_capture_on_commit_callbacks):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "BACKGROUND": {"MAX_AUTO_RESUMES": 2}}
    batch = started_batch(agent, batch_template, django_capture_on_commit_callbacks)
    # Each resumed task dies before its first row (its commit never comes: no task runs).
    for _attempt in range(2):
        assert recovery.recover(now=after_lease(batch)).resumed == [batch.pk]
    assert lease_of(batch).resumes == 2
    assert recovery.recover(now=after_lease(batch)).stopped == [batch.pk]
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED and "2 automatic resumes without progress" in batch.report["stopped"]
    assert len(log_entries(batch, log_actions.BATCH_STOPPED)) == 1
    a_day_later = timezone.now() + datetime.timedelta(days=1)
    assert recovery.recover(now=a_day_later).stopped == [] == recovery.recover(now=a_day_later).resumed  # for a person

    with django_capture_on_commit_callbacks(execute=True):
        batches.resume_batch(agent, batch)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED and "stopped" not in batch.report
    assert Letter.objects.count() == ROW_COUNT


def test_progress_resets_the_automatic_resumes(agent, batch_template, django_capture_on_commit_callbacks):
    batch = started_batch(agent, batch_template, django_capture_on_commit_callbacks)
    recovery.recover(now=after_lease(batch))
    assert lease_of(batch).resumes == 1
    batches.run_batch(batch.pk, limit=1, worker_id="worker-2")
    assert lease_of(batch).resumes == 0


def test_lost_tasks_of_the_app_are_marked_failed(agent, batch_template, settings, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    batch = started_batch(agent, batch_template, django_capture_on_commit_callbacks)
    batches.run_batch(batch.pk, limit=1, worker_id="worker-1")  # alive: the lease is fresh
    alive_batch_task = running_task_result(batch)
    lost_send = running_task_result(None, started_ago=3600, path="wagtail_correspondence.tasks.send_dispatch")
    recent_send = running_task_result(None, started_ago=5, path="wagtail_correspondence.tasks.send_dispatch")
    other_app = running_task_result(None, started_ago=3600, path="wagtail.tasks.update_reference_index_task")

    assert recovery.fail_lost_tasks() == 1
    statuses = dict(DBTaskResult.objects.values_list("id", "status"))
    assert statuses[lost_send.id] == "FAILED"
    assert statuses[alive_batch_task.id] == statuses[recent_send.id] == statuses[other_app.id] == "RUNNING"

    expire(batch)  # the batch's worker died too
    assert recovery.fail_lost_tasks() == 1
    assert DBTaskResult.objects.get(id=alive_batch_task.id).status == "FAILED"


def test_a_dispatch_left_sending_is_shown_and_never_resent(agent, batch_template, django_capture_on_commit_callbacks):
    batch = started_batch(agent, batch_template, django_capture_on_commit_callbacks)
    batches.run_batch(batch.pk, worker_id="worker-1")
    dispatch = Dispatch.objects.filter(letter__batch_row__batch=batch, channel="archive").order_by("pk").first()
    # A worker claimed it (committed "sending") and died before recording the outcome.
    claimed = timezone.now() - datetime.timedelta(hours=1)
    Dispatch.objects.filter(pk=dispatch.pk).update(status=DispatchStatus.SENDING, claimed_at=claimed, attempts=1)

    assert recovery.recover().dispatches_unknown == 1
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.SENDING and "outcome unknown" in dispatch.last_error
    assert recovery.recover().dispatches_unknown == 0  # marked once
    entries = ModelLogEntry.objects.for_instance(dispatch.letter).filter(action=log_actions.LETTER_DISPATCH_FAILED)
    assert [entry.data["error"] for entry in entries] == [dispatch.last_error]
    outbox.process_due(now=timezone.now() + datetime.timedelta(days=1))
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.SENDING and dispatch.attempts == 1  # at most once: never resent
    assert batches.unknown_outcomes(batch).count() == 1
    assert batches.batch_summary(batch)["unknown_outcomes"] == 1


# Resuming by hand ----------------------------------------------------------------------

API = "/api/correspondence/v1/batches"


def admin_url(batch, action=""):
    return f"/admin/correspondence/letters/batches/{batch.pk}/{action + '/' if action else ''}"


def test_the_owner_resumes_a_stuck_batch_in_the_admin(client, agent, batch_template, django_capture_on_commit_callbacks):
    batch = started_batch(agent, batch_template, django_capture_on_commit_callbacks)
    batches.run_batch(batch.pk, limit=2, worker_id="worker-1")
    client.force_login(agent)
    alive = client.get(admin_url(batch)).content.decode()
    assert "data-resume-batch" not in alive and "A worker is on it: last progress" in alive
    assert "worker-1" not in alive  # a state in words, not the worker's id

    refused = client.post(admin_url(batch, "resume"), follow=True).content.decode()
    assert "The batch is alive: its worker completed a row" in refused
    assert not log_entries(batch, log_actions.BATCH_RESUMED)

    expire(batch)
    stuck = client.get(admin_url(batch)).content.decode()
    assert "data-resume-batch" in stuck and "Stalled since" in stuck and "its worker has stopped" in stuck
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(admin_url(batch, "resume"), follow=True)
    assert "Batch resumed" in response.content.decode()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED and Letter.objects.count() == ROW_COUNT
    [entry] = log_entries(batch, log_actions.BATCH_RESUMED)
    assert entry.user == agent and entry.data["automatic"] is False and entry.data["worker"] == "worker-1"
    assert entry.formatter.format_message(entry) == "Letter batch resumed by hand (worker worker-1)"


def test_resume_is_refused_to_others(client, agent, batch_template, make_user, django_capture_on_commit_callbacks):
    batch = started_batch(agent, batch_template, django_capture_on_commit_callbacks)
    expire(batch)
    other_agent = make_user("agent2", roles.AGENTS)
    supervisor = make_user("supervisor", roles.SUPERVISORS, roles.AGENTS)  # sees every batch, did not upload it
    reviewer = make_user("reviewer", roles.CONTENT_REVIEWERS)
    # The admin answers a refusal by sending the user to the dashboard with an error message.
    for user, admin_status, api_status in [(other_agent, 404, 404), (supervisor, 302, 403), (reviewer, 302, 403)]:
        client.force_login(user)
        response = client.post(admin_url(batch, "resume"))
        assert response.status_code == admin_status, user
        assert admin_status != 302 or response["Location"] == "/admin/"
        assert client.post(f"{API}/{batch.uuid}/resume/").status_code == api_status, user
        if user is supervisor:
            page = client.get(admin_url(batch)).content.decode()
            assert "data-resume-batch" not in page
    assert LetterBatch.objects.get(pk=batch.pk).status == BatchStatus.RUNNING
    assert not log_entries(batch, log_actions.BATCH_RESUMED)


def test_resume_through_the_api(client, agent, batch_template, make_user, django_capture_on_commit_callbacks):
    batch = started_batch(agent, batch_template, django_capture_on_commit_callbacks)
    batches.run_batch(batch.pk, limit=2, worker_id="worker-1")
    client.force_login(agent)
    refused = client.post(f"{API}/{batch.uuid}/resume/")
    assert refused.status_code == 409 and "The batch is alive: its worker completed" in refused.json()["detail"]
    body = client.get(f"{API}/{batch.uuid}/").json()
    assert body["worker"]["state"] == "alive" and body["worker"]["worker"] == "worker-1"

    expire(batch)
    assert client.get(f"{API}/{batch.uuid}/").json()["worker"]["state"] == "stale"
    admin = make_user("admin", superuser=True)
    client.force_login(admin)  # administrators resume anyone's batch
    with django_capture_on_commit_callbacks(execute=True):
        resumed = client.post(f"{API}/{batch.uuid}/resume/")
    assert resumed.status_code == 200, resumed.content
    assert resumed.json()["status"] == "running" and resumed.json()["worker"]["state"] == "alive"  # queued
    assert client.get(f"{API}/{batch.uuid}/").json()["progress"]["generated"] == ROW_COUNT  # the new task ran
    [entry] = log_entries(batch, log_actions.BATCH_RESUMED)
    assert entry.user == admin
    again = client.post(f"{API}/{batch.uuid}/resume/")
    assert again.status_code == 409 and "can be resumed (this one is Completed)" in again.json()["detail"]


# The scheduler -------------------------------------------------------------------------

CALLS = []


def counting_job():
    CALLS.append("counted")
    return "counted"


def failing_job():
    CALLS.append("failed")
    raise RuntimeError("the job broke")


def stopping_job():
    """Asks its own scheduler to stop, as systemd or Ctrl+C would, while it runs."""
    CALLS.append("stopping")
    os.kill(os.getpid(), signal.SIGTERM)
    return "asked to stop"


def jobs(settings, *entries):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "SCHEDULED_JOBS": [
        {"name": name, "job": f"tests.test_recovery.{function}" if "." not in function else function, "every": every}
        for name, function, every in entries]}


@pytest.fixture
def calls():
    CALLS.clear()
    yield CALLS
    CALLS.clear()


def run_scheduler(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("correspondence_scheduler", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def outcomes():
    return {job.name: (job.last_outcome, job.runs, job.failures) for job in ScheduledJob.objects.all()}


def test_the_scheduler_runs_every_default_job(db):
    out, err = run_scheduler("--once")
    results = outcomes()
    assert {name: results[name][0] for name in ("outbox", "recovery", "sla", "register-exports",
                                                "dashboard-volumes")} == {
        "outbox": JobOutcome.OK, "recovery": JobOutcome.OK, "sla": JobOutcome.OK,
        "register-exports": JobOutcome.OK, "dashboard-volumes": JobOutcome.OK}, err
    # Written by another part of the project; skipped with a line until it exists.
    assert results["audit-checkpoint"][0] in (JobOutcome.OK, JobOutcome.SKIPPED), err
    assert "recovery: succeeded: 0 batches resumed" in out


def test_a_failing_job_never_stops_the_others(db, settings, calls):
    jobs(settings, ("fails", "failing_job", 60), ("counts", "counting_job", 60),
         ("missing", "wagtail_correspondence.services.audit.not_written_yet", 60))
    out, err = run_scheduler("--once")
    assert calls == ["failed", "counted"]
    assert outcomes() == {"fails": (JobOutcome.FAILED, 1, 1), "counts": (JobOutcome.OK, 1, 0),
                          "missing": (JobOutcome.SKIPPED, 1, 0)}
    assert "fails: failed: RuntimeError: the job broke" in err
    assert "missing: skipped: wagtail_correspondence.services.audit.not_written_yet cannot be imported" in out
    assert ScheduledJob.objects.get(name="fails").last_result == "RuntimeError: the job broke"

    out, err = run_scheduler("--once")  # nothing is due again within the interval
    assert calls == ["failed", "counted"] and "No job was due." in out


def test_each_job_starts_once_per_interval_however_many_schedulers_run(db, settings):
    jobs(settings, ("counts", "counting_job", 60))
    [job] = scheduler.configured_jobs()
    now = timezone.now()
    assert scheduler.claim(job, "host-a:1", now) is True
    assert scheduler.claim(job, "host-b:2", now) is False
    later = now + datetime.timedelta(seconds=61)
    assert scheduler.claim(job, "host-b:2", later) is False  # host-a still runs it (held)
    scheduler.finish(job, "host-a:1", JobOutcome.OK, "")
    assert scheduler.claim(job, "host-b:2", later) is True
    assert scheduler.claim(job, "host-a:1", later) is False


def test_the_scheduler_stops_cleanly_on_sigterm(db, settings, calls):
    jobs(settings, ("stopper", "stopping_job", 60), ("counts", "counting_job", 60))
    previous = signal.getsignal(signal.SIGTERM)
    out, err = run_scheduler()
    assert calls == ["stopping"]  # the running job finished; no other job started
    assert outcomes()["stopper"] == (JobOutcome.OK, 1, 0)
    assert "Scheduler stopped." in out and not err
    assert signal.getsignal(signal.SIGTERM) == previous  # handlers given back


def test_bad_job_settings_name_the_entry(db, settings):
    from django.core.management.base import CommandError

    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "SCHEDULED_JOBS": [
        {"name": "outbox", "job": "wagtail_correspondence.services.dispatch.process_due", "every": 0}]}
    with pytest.raises(CommandError, match=r"SCHEDULED_JOBS'\]\[0\]\['every'\]"):
        run_scheduler("--once")
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "SCHEDULED_JOBS": []}
    with pytest.raises(CommandError, match="No scheduled job named nope"):
        run_scheduler("--once", "--job", "nope")


# The outbox command ----------------------------------------------------------------------

def test_the_dispatch_command_sends_what_is_due_and_lists_unknown_outcomes(agent, batch_template,
                                                                           django_capture_on_commit_callbacks):
    batch = started_batch(agent, batch_template, django_capture_on_commit_callbacks)
    batches.run_batch(batch.pk)  # letters generated, their dispatches queued (no worker sent them)
    lost = Dispatch.objects.filter(channel="archive").order_by("pk").first()
    Dispatch.objects.filter(pk=lost.pk).update(status=DispatchStatus.SENDING,
                                               claimed_at=timezone.now() - datetime.timedelta(hours=2))
    count = outbox.due_dispatches().count()
    assert count >= ROW_COUNT - 1
    out = io.StringIO()
    call_command("correspondence_dispatch", stdout=out)
    assert f"{count} due dispatches processed" in out.getvalue()
    assert not outbox.due_dispatches().exists()
    assert "1 dispatches whose outcome is unknown" in out.getvalue()
    assert lost.letter.reference in out.getvalue()
    assert Dispatch.objects.get(pk=lost.pk).status == DispatchStatus.SENDING


# Locks: a worker locks the row it works on, never a joined one (issue 14) -----------------

@pytest.mark.django_db(databases=["default", "postgres"])
def test_claims_lock_their_own_rows_only():
    """On PostgreSQL, FOR UPDATE locks every table of the query unless told otherwise: the
    batch (joined by the rows' default ordering) or the letter (select_related) would be
    locked too, and every other worker would skip every row of that batch or letter."""
    connection = connections["postgres"]
    with transaction.atomic(using="postgres"):
        for queryset, table in [
            (batches.lockable_row(1), "wagtail_correspondence_batchrow"),
            (outbox.claimable(1, timezone.now()), "wagtail_correspondence_dispatch"),
            (claimable_for_print(10), "wagtail_correspondence_dispatch"),
        ]:
            sql = queryset.using("postgres").query.get_compiler(connection=connection).as_sql()[0]
            assert sql.endswith(f'FOR UPDATE OF "{table}" SKIP LOCKED'), sql
