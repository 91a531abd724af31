"""Workers that die, as real processes on PostgreSQL (the production database): a worker
killed with SIGKILL in the middle of a batch is replaced, the scheduler's recovery job
resumes the batch, and every row becomes one letter and one email, once; two workers share
one batch; the demo's supervisor restarts a killed worker.

The database with the real migrations and the demo is made once per module and copied for
each test (CREATE DATABASE ... TEMPLATE). Waits poll the database with generous deadlines;
nothing asserts how long anything took.
"""

import email
import email.policy
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from .test_dispatch import free_port

pytestmark = pytest.mark.migrations

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "site" / "manage.py")]
WORKER = ["db_worker", "--queue-name", "*", "--no-reload", "--no-startup-delay", "--interval", "0.2"]

# The site's settings with short leases, small chunks (a batch of a few dozen rows is shared
# by several workers, and a worker killed after some rows is killed inside a chunk) and a
# scheduler that runs the outbox sweep and the recovery job every second, so that a test waits
# seconds, not minutes, for a takeover.
FAST_RECOVERY = '''
from correspondence_site.settings.dev import *  # noqa: F401,F403

WAGTAIL_CORRESPONDENCE = {**WAGTAIL_CORRESPONDENCE, "BACKGROUND": {"LEASE_SECONDS": 4, "CHUNK_ROWS": 5}, "SCHEDULED_JOBS": [
    {"name": "outbox", "job": "wagtail_correspondence.services.dispatch.process_due", "every": 1},
    {"name": "recovery", "job": "wagtail_correspondence.services.recovery.recover", "every": 1},
]}
'''

# Demo customers with an email address (site/demo_data/customers.json).
EMAIL_CUSTOMERS = ["C-1001", "C-1004", "C-1005", "C-1007", "C-1010", "C-1011", "C-1013", "C-1016", "C-1017",
                   "C-1019", "C-1022"]


def interruptible():
    """In the child, before it runs: Ctrl+C (SIGINT) as in a terminal. A suite started in the
    background (`make test &`) runs with SIGINT ignored, the children would inherit that, and the
    commands deliberately leave an ignored SIGINT alone (management/stopping.py)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stopped(site, process, name, timeout=120):
    """The process's exit status once it stopped; if it does not stop in time, the stack of each
    of its threads (faulthandler, on SIGABRT) goes into its log and the test fails with it."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        process.wait(timeout=30)
        raise AssertionError(f"{name} did not stop within {timeout} s:\n{site.log(name)[-8000:]}") from None


def wait_for(condition, what, timeout=300, every=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"gave up waiting for {what}")


def postgres_server():
    from django.conf import settings

    server = settings.DATABASES["postgres"]
    return {"host": server["HOST"] or "127.0.0.1", "port": server["PORT"] or 5432, "user": server["USER"],
            "password": server["PASSWORD"] or None, "dbname": server["NAME"]}


def database_url(name):
    server = postgres_server()
    password = f":{server['password']}" if server["password"] else ""
    return f"postgres://{server['user']}{password}@{server['host']}:{server['port']}/{name}"


def admin_sql(*statements):
    import psycopg

    with psycopg.connect(**postgres_server(), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


class Site:
    """The reference site on one database and one set of folders, run as manage.py commands."""

    def __init__(self, database, files, settings_module="correspondence_site.settings.dev", extra_env=None,
                 pythonpath=None):
        self.database = database
        self.files = Path(files)
        unset = ("DATABASE_URL", "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "TASKS_BACKEND", "DJANGO_SETTINGS_MODULE")
        self.env = {key: value for key, value in os.environ.items() if key not in unset}
        self.env.update({"DATABASE_URL": database_url(database), "DJANGO_SETTINGS_MODULE": settings_module,
                         "PRIVATE_STORAGE_ROOT": str(self.files / "private"), "MEDIA_ROOT": str(self.files / "media"),
                         "EMAIL_FILE_PATH": str(self.files / "mail"), "PYTHONUNBUFFERED": "1",
                         "PYTHONFAULTHANDLER": "1", **(extra_env or {})})
        if pythonpath:
            self.env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), self.env.get("PYTHONPATH", "")])
        self.processes = []

    def run(self, *args):
        result = subprocess.run(MANAGE + list(args), env=self.env, capture_output=True, text=True, cwd=ROOT,
                                timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def spawn(self, *args, log_name=None):
        log = open(self.files / f"{log_name or args[0]}.log", "ab")
        process = subprocess.Popen(MANAGE + list(args), env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, preexec_fn=interruptible)
        log.close()
        self.processes.append(process)
        return process

    def log(self, name):
        path = self.files / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def sql(self, query, params=()):
        import psycopg

        with psycopg.connect(**{**postgres_server(), "dbname": self.database}, autocommit=True) as connection:
            cursor = connection.execute(query, params)
            return cursor.fetchall() if cursor.description else cursor.rowcount

    def create_batch(self, rows, channel):
        """A checked and started batch of ``rows`` rows; returns its id."""
        customers = (EMAIL_CUSTOMERS * (rows // len(EMAIL_CUSTOMERS) + 1))[:rows]
        path = self.files / "rows.csv"
        path.write_text("customer_id,channel\n" + "".join(f"{customer},{channel}\n" for customer in customers))
        code = ("from django.contrib.auth import get_user_model; from django.core.files.uploadedfile import "
                "SimpleUploadedFile; from wagtail_correspondence.models import LetterTemplatePage; "
                "from wagtail_correspondence.services import batches as b; "
                "agent = get_user_model().objects.get(username='agent'); "
                f"upload = SimpleUploadedFile('rows.csv', open({str(path)!r}, 'rb').read()); "
                "page = LetterTemplatePage.objects.get(slug='policy-renewal', locale__language_code='en'); "
                "batch = b.create_batch(agent, page, upload); "
                "b.check_batch(batch.pk); batch.refresh_from_db(); "
                f"assert batch.report['valid'] == {rows}, batch.report; "
                "b.start_batch(agent, batch); print('BATCH', batch.pk)")
        return int(self.run("shell", "-c", code).split("BATCH ", 1)[1].split()[0])

    def stop_all(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)


@pytest.fixture(scope="module")
def demo_database(tmp_path_factory):
    """The real migrations and the demo (users and content), once, as a template database."""
    name = f"wc_recovery_template_{os.getpid()}"
    files = tmp_path_factory.mktemp("demo-files")
    admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    site = Site(name, files)
    try:
        site.run("migrate", "--noinput", "-v0")
        site.run("correspondence_demo", "--without-register")
        # The demo's search-index tasks: not what these tests are about, and no worker ran yet.
        site.sql("DELETE FROM django_tasks_database_dbtaskresult")
        yield name, files
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def copy_of_demo(demo_database, tmp_path, request):
    template, template_files = demo_database
    name = f"wc_recovery_{os.getpid()}_{request.node.name[:30].lower()}"
    admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    files = tmp_path / "site"
    shutil.copytree(template_files, files)
    (tmp_path / "fast_recovery_settings.py").write_text(FAST_RECOVERY)
    sites = []

    def make(**env):
        site = Site(name, files, settings_module="fast_recovery_settings", pythonpath=tmp_path, extra_env=env)
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.stop_all()
    admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class CountingMailbox:
    """aiosmtpd handler: keeps each message's reference header (bounded memory)."""

    def __init__(self):
        self.references = []
        self.sessions = 0  # SMTP connections (one EHLO each)
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.references.append(message["X-Correspondence-Reference"])
        return "250 OK queued"


@pytest.fixture
def smtp_server():
    mailbox = CountingMailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, mailbox
    controller.stop()


def generated(site, batch_id):
    return site.sql("SELECT count(*) FROM wagtail_correspondence_batchrow WHERE batch_id = %s AND status = "
                    "'generated'", (batch_id,))[0][0]


def batch_status(site, batch_id):
    return site.sql("SELECT status FROM wagtail_correspondence_letterbatch WHERE id = %s", (batch_id,))[0][0]


def task_results(site, name):
    return site.sql("SELECT status, worker_ids::text, exception_class_path, return_value::text FROM "
                    "django_tasks_database_dbtaskresult WHERE task_path = %s ORDER BY enqueued_at",
                    (f"wagtail_correspondence.tasks.{name}",))


def test_a_worker_killed_mid_batch_is_replaced_and_every_letter_is_made_and_sent_once(copy_of_demo, smtp_server):
    port, mailbox = smtp_server
    site = copy_of_demo(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
                        EMAIL_PORT=str(port))
    rows = 100
    batch_id = site.create_batch(rows, "email")

    first = site.spawn(*WORKER, "--worker-id", "first-worker", log_name="first-worker")

    def inside_a_chunk():
        # Killed while it renders a chunk (between two chunks there is nothing to take over:
        # the queued chunk tasks simply do the rest).
        return first.poll() is not None or (generated(site, batch_id) >= 20 and site.sql(
            "SELECT count(*) FROM wagtail_correspondence_batchchunk WHERE batch_id = %s AND status = 'running' AND "
            "worker_id = 'first-worker'", (batch_id,))[0][0])
    wait_for(inside_a_chunk, "the first worker's rows", every=0.05)
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=60) == -signal.SIGKILL
    at_kill = generated(site, batch_id)
    assert 20 <= at_kill < rows, site.log("first-worker")  # killed part-way through
    assert batch_status(site, batch_id) == "running"
    assert [status for status, *_rest in task_results(site, "run_batch_task")] == ["RUNNING"]  # what the table says

    second = site.spawn(*WORKER, "--worker-id", "second-worker", log_name="second-worker")
    scheduler = site.spawn("correspondence_scheduler")

    def finished():
        emails = dict(site.sql("SELECT status, count(*) FROM wagtail_correspondence_dispatch WHERE channel = 'email' "
                               "GROUP BY status"))
        # ... and the queue drained: the task that resumed the batch waits behind the chunk
        # tasks the killed worker had enqueued, and finds the batch done.
        waiting = site.sql("SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status IN ('READY', "
                           "'RUNNING') AND task_path LIKE 'wagtail_correspondence.tasks.%%'")[0][0]
        return (batch_status(site, batch_id) == "completed" and emails == {"sent": rows} and len(mailbox.references)
                and waiting == 0)
    wait_for(finished, "the batch to finish and its emails to go out")
    second.send_signal(signal.SIGTERM)
    scheduler.send_signal(signal.SIGINT)
    assert stopped(site, second, "second-worker") == 0, site.log("second-worker")
    assert stopped(site, scheduler, "correspondence_scheduler") == 0, site.log("correspondence_scheduler")
    assert "Scheduler stopped." in site.log("correspondence_scheduler")

    # Every row generated once: one letter per row, numbers unique and without a gap (the row
    # that was mid-transaction when the worker died gave its number back).
    [(row_count, distinct_letters)] = site.sql(
        "SELECT count(*), count(DISTINCT letter_id) FROM wagtail_correspondence_batchrow WHERE batch_id = %s AND "
        "status = 'generated'", (batch_id,))
    assert row_count == distinct_letters == rows
    references = [reference for (reference,) in site.sql("SELECT reference FROM wagtail_correspondence_letter")]
    assert len(references) == rows  # no letter without its row either
    assert sorted(int(reference[-6:]) for reference in references) == list(range(1, rows + 1))
    # Every email sent once, as the mail server counts them.
    assert len(mailbox.references) == rows and sorted(mailbox.references) == sorted(references)
    # The task table tells the truth: the killed worker's task failed, a new one finished it.
    runs = task_results(site, "run_batch_task")
    assert runs[0][0] == "FAILED" and "first-worker" in runs[0][1] and runs[0][2].endswith("WorkerLost")
    assert "SUCCESSFUL" in [status for status, *_rest in runs[1:]]
    running = site.sql("SELECT task_path, worker_ids::text, args_kwargs::text FROM django_tasks_database_dbtaskresult "
                       "WHERE status = 'RUNNING'")
    assert not running, (running, site.log("second-worker")[-5000:])
    [(data,)] = site.sql("SELECT data::text FROM wagtailcore_modellogentry WHERE action = %s",
                         ("wagtail_correspondence.batch.resumed",))
    assert '"automatic": true' in data and '"worker": "first-worker"' in data
    # The worker died inside a chunk: that chunk was taken over and redone with the numbers it
    # had reserved, so none is void.
    assert site.sql("SELECT max(takeovers) FROM wagtail_correspondence_batchchunk")[0][0] >= 1
    assert site.sql("SELECT count(*) FROM wagtail_correspondence_voidreference")[0][0] == 0


def test_two_workers_share_one_batch(copy_of_demo):
    """Both workers work on the batch at once (issue 14: the second one used to skip every
    row, because the first one's row lock also locked the batch). Made certain, not likely:
    the test holds the reference counter, so each worker stops inside the first row it
    took; both must be waiting there, each on a row of its own."""
    import psycopg

    site = copy_of_demo()
    rows = 10
    batch_id = site.create_batch(rows, "print")
    site.run("shell", "-c", f"from wagtail_correspondence import tasks; tasks.run_batch_task.enqueue({batch_id})")
    holder = psycopg.connect(**{**postgres_server(), "dbname": site.database})
    try:
        holder.execute("LOCK TABLE wagtail_correspondence_referencesequence IN EXCLUSIVE MODE")
        workers = [site.spawn(*WORKER, "--batch", "--worker-id", f"worker-{n}", log_name=f"worker-{n}")
                   for n in (1, 2)]

        def settled():
            waiting = site.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = "
                               "'Lock'", (site.database,))[0][0]
            ended = [status for status, *_rest in task_results(site, "run_batch_task") if status != "RUNNING"
                     and status != "READY"]
            return (waiting, ended) if waiting == 2 or ended or any(w.poll() is not None for w in workers) else None
        waiting, ended = wait_for(settled, "both workers to be inside a row")
        assert (waiting, ended) == (2, []), (site.log("worker-1"), site.log("worker-2"))
    finally:
        holder.rollback()
        holder.close()
    for worker in workers:
        assert worker.wait(timeout=300) == 0
    assert batch_status(site, batch_id) == "completed"
    runs = task_results(site, "run_batch_task")
    assert [status for status, *_rest in runs] == ["SUCCESSFUL", "SUCCESSFUL"]
    done = sorted(int(value) for *_rest, value in runs)
    assert done[0] >= 1 and sum(done) == rows  # each worker generated rows; together each row once
    references = [reference for (reference,) in site.sql("SELECT reference FROM wagtail_correspondence_letter")]
    assert len(set(references)) == len(references) == rows


def test_two_workers_generate_and_send_one_batch_in_chunks(copy_of_demo, smtp_server):
    """Two worker processes on one PostgreSQL batch: its chunks are offered to both, both work
    on it, the references are unique with no void number, every email arrives once, one SMTP
    connection per chunk."""
    port, mailbox = smtp_server
    site = copy_of_demo(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
                        EMAIL_PORT=str(port))
    workers = [site.spawn(*WORKER, "--worker-id", f"worker-{n}", log_name=f"worker-{n}") for n in (1, 2)]
    # Both workers are up before the batch starts, so that the second one is there to take
    # chunks while the first one works on its own.
    wait_for(lambda: all(site.log(f"worker-{n}") for n in (1, 2)), "both workers to start", every=0.2)
    # 24 chunks of 5 rows. With 12, the first worker once generated them all before the second
    # took one (in a full run; the second also takes the chunks' delivery tasks, which come
    # first): more chunks leave the second worker time to join.
    rows = 120
    batch_id = site.create_batch(rows, "email")

    def finished():
        emails = dict(site.sql("SELECT status, count(*) FROM wagtail_correspondence_dispatch WHERE channel = 'email' "
                               "GROUP BY status"))
        waiting = site.sql("SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status IN ('READY', "
                           "'RUNNING') AND task_path LIKE 'wagtail_correspondence.tasks.%%'")[0][0]
        return batch_status(site, batch_id) == "completed" and emails == {"sent": rows} and waiting == 0
    wait_for(finished, "the batch to finish and its emails to go out")
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for n, worker in enumerate(workers, start=1):
        assert stopped(site, worker, f"worker-{n}") == 0, site.log(f"worker-{n}")

    references = [reference for (reference,) in site.sql("SELECT reference FROM wagtail_correspondence_letter")]
    assert len(references) == len(set(references)) == rows
    assert sorted(int(reference[-6:]) for reference in references) == list(range(1, rows + 1))
    assert site.sql("SELECT count(*) FROM wagtail_correspondence_voidreference")[0][0] == 0
    chunks = dict(site.sql("SELECT worker_id, count(*) FROM wagtail_correspondence_batchchunk WHERE batch_id = %s "
                           "GROUP BY worker_id", (batch_id,)))
    assert sum(chunks.values()) == rows // 5
    # Every chunk beyond the first was offered to the other workers as a task of its own...
    offered = site.sql("SELECT count(*) FROM django_tasks_database_dbtaskresult "
                       "WHERE task_path = 'wagtail_correspondence.tasks.run_chunk_task'")[0][0]
    assert offered == rows // 5 - 1
    # ... and both workers worked on the batch. Which of them generated which chunk is timing:
    # a chunk's delivery comes before the chunks still waiting, so a second worker may spend the
    # whole batch sending what the first one generates (it once did with 12 chunks, and again
    # with 24 once generating got faster).
    workers_of_batch = {worker for (worker,) in site.sql(
        "SELECT DISTINCT jsonb_array_elements_text(worker_ids::jsonb) FROM django_tasks_database_dbtaskresult "
        "WHERE task_path LIKE 'wagtail_correspondence.tasks.%%'")}
    assert workers_of_batch == {"worker-1", "worker-2"}, (workers_of_batch, chunks)
    assert len(mailbox.references) == rows and sorted(mailbox.references) == sorted(references)
    assert mailbox.sessions == sum(chunks.values())  # one SMTP connection per chunk
    assert not site.sql("SELECT id FROM django_tasks_database_dbtaskresult WHERE status = 'FAILED'")


def test_the_supervisor_restarts_a_killed_worker_and_stops_with_it(tmp_path):
    """The demo's worker (make demo): killed, it is started again; SIGTERM stops both."""
    import queue

    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "TASKS_BACKEND")}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "PYTHONUNBUFFERED": "1",
                "DJANGO_SETTINGS_MODULE": "correspondence_site.settings.dev"})
    subprocess.run(MANAGE + ["migrate", "django_tasks_database", "--noinput", "-v0"], env=env, cwd=ROOT, check=True,
                   timeout=300)
    supervisor = subprocess.Popen(MANAGE + ["correspondence_supervise", "--min-backoff", "0.1", "--", *WORKER],
                                  env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in supervisor.stdout], daemon=True)
    reader.start()
    seen = []

    def next_worker():
        while True:
            line = lines.get(timeout=120)
            seen.append(line)
            if line.startswith("supervisor: started"):
                return int(line.rsplit("pid ", 1)[1])

    try:
        first = next_worker()
        os.kill(first, signal.SIGKILL)
        second = next_worker()
        assert second != first
        assert any(f"pid {first} exited with signal SIGKILL" in line for line in seen), seen
        os.kill(second, 0)  # running
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=120) == 0
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    with pytest.raises(ProcessLookupError):
        os.kill(second, 0)  # stopped with the supervisor (and reaped by it): no orphan
    reader.join(timeout=60)  # the pipe is at its end
    while not lines.empty():
        seen.append(lines.get())
    assert any("supervisor stopped" in line for line in seen), seen


def test_make_demo_runs_the_supervised_worker_and_the_scheduler():
    recipe = (ROOT / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "correspondence_supervise" in recipe and "correspondence_scheduler" in recipe
    assert "db_worker" not in recipe  # never a bare worker that stays dead
