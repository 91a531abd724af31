"""Background tasks (django-tasks). Every task is safe to run twice: it works from the
outbox rows, which a second run finds already claimed or done."""

from django_tasks import task


@task()
def send_dispatch(dispatch_id):
    from .services.dispatch import process_dispatch

    dispatch = process_dispatch(dispatch_id)
    return dispatch.status if dispatch is not None else "not due"


@task()
def process_due_dispatches():
    from .services.dispatch import process_due

    return process_due()


@task()
def check_batch_task(batch_id):
    from .services.batches import check_batch

    return check_batch(batch_id)


@task()
def run_batch_task(batch_id):
    from .services.batches import run_batch

    return run_batch(batch_id)


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
