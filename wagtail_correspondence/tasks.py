"""Background tasks (django-tasks). Every task is safe to run twice: it works from the
outbox rows, which a second run finds already claimed or done. The batch tasks take their
context to name the worker and task that hold the batch's lease (services.batch_leases)."""

from django_tasks import task


def _holder(context):
    result = context.task_result
    return {"worker_id": (result.worker_ids or [""])[-1], "task_id": str(result.id)}


@task()
def send_dispatch(dispatch_id):
    from .services.dispatch import process_dispatch

    dispatch = process_dispatch(dispatch_id)
    return dispatch.status if dispatch is not None else "not due"


@task()
def process_due_dispatches():
    from .services.dispatch import process_due

    return process_due()


@task(takes_context=True)
def check_batch_task(context, batch_id):
    from .services.batches import check_batch

    return check_batch(batch_id, **_holder(context))


@task(takes_context=True)
def run_batch_task(context, batch_id):
    """Hands the batch's chunks beyond the first to chunk tasks (for the other workers), then
    works through chunks itself until none is left."""
    from .services.batches import fan_out, run_batch

    fan_out(batch_id)
    return run_batch(batch_id, **_holder(context))


@task(takes_context=True)
def run_chunk_task(context, batch_id):
    """One chunk of a batch: whichever is next when a worker picks the task up."""
    from .services.batches import run_batch

    return run_batch(batch_id, chunks=1, **_holder(context))


# Ahead of the batch's remaining chunk tasks and of the index updates its register entries
# enqueue: a chunk's letters go out while the next chunks are generated. Set when enqueued,
# on backends that order by priority (the database backend; not RQ).
DELIVERY_PRIORITY = 50


def enqueue_with_priority(task_to_run, priority, *args):
    """``task_to_run`` enqueued with ``priority`` where the backend orders by it; RQ refuses a
    task that names one, so there it goes in the order enqueued."""
    if getattr(task_to_run.get_backend(), "supports_priority", False):
        task_to_run = task_to_run.using(priority=priority)
    return task_to_run.enqueue(*args)


@task()
def deliver_dispatches_task(dispatch_ids):
    """A generated chunk's dispatches, together (one SMTP connection, outcomes in one commit)."""
    from .services.dispatch import deliver_many

    return deliver_many(list(dispatch_ids))


@task(takes_context=True)
def print_run_task(context, run_id):
    """Merge and write one print run (services.printing); a second run of it does nothing."""
    from .services.printing import execute_print_run

    return str(execute_print_run(run_id, **_holder(context)))


@task()
def sla_sweep_task():
    """One sweep of the register's deadlines (reminders, overdue alerts, escalations); each
    notice goes out once however often this runs. Returns the summary."""
    from .services.sla import sweep

    return str(sweep())


@task()
def audit_checkpoint_task():
    """Write a checkpoint of the audit chain's head to write-once storage; what and where."""
    from .services.audit import write_checkpoint

    return str(write_checkpoint())


# After everything a batch's chunks still have to do (set at enqueue time, as DELIVERY_PRIORITY).
INDEX_PRIORITY = -50


@task()
def index_references_task(model_label, ids):
    """Wagtail's reference index for objects written in bulk (services.indexing)."""
    from .services.indexing import index_references

    return index_references(model_label, ids)


@task(takes_context=True)
def register_export_task(context, export_id):
    """Write one large register export (services.register_exports); a second run of a finished
    one does nothing."""
    from .services.register_exports import run_export

    return str(run_export(export_id, **_holder(context)))


@task()
def letter_approval_notice_task(letter_id, event):
    """Email about a letter's approval (services.approval_notices); how many were written to."""
    from .services.approval_notices import send_notice

    return send_notice(letter_id, event)
