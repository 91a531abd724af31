"""The background worker as deployments run it: a generated letter is queued, a worker sends
it, and the email lands in the demo's mail folder. Both task backends: the database
(django-tasks-db's `db_worker`, the embedded default) and Redis (django-tasks-rq and RQ's
worker, for scale-out)."""

import email
import email.policy
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "site" / "manage.py")]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Enough rows that a worker is still generating when the test kills it: each look at the
# count starts a process of its own, slower than a letter with the Typst backend.
ROWS = 400

WORKERS = {
    "database": ({}, ["db_worker", "--queue-name", "*", "--batch", "--no-startup-delay"]),
    "redis": ({"TASKS_BACKEND": "django_tasks_rq.RQBackend", "REDIS_URL": REDIS_URL},
              ["rqworker", "default", "--burst", "--job-class", "django_tasks_rq.Job"]),
}


@pytest.fixture
def empty_redis():
    import redis

    connection = redis.Redis.from_url(REDIS_URL)
    connection.flushdb()
    yield
    connection.flushdb()


@pytest.mark.migrations
@pytest.mark.parametrize("backend", list(WORKERS))
def test_worker_sends_a_queued_letter(backend, tmp_path, request):
    if backend == "redis":
        request.getfixturevalue("empty_redis")
    backend_env, worker = WORKERS[backend]
    unset = ("DATABASE_URL", "EMAIL_BACKEND", "EMAIL_HOST", "TASKS_BACKEND")
    env = {key: value for key, value in os.environ.items() if key not in unset}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
                "DJANGO_SETTINGS_MODULE": "correspondence_site.settings.dev",
                "PRIVATE_STORAGE_ROOT": str(tmp_path / "private"), "MEDIA_ROOT": str(tmp_path / "media"),
                "EMAIL_FILE_PATH": str(tmp_path / "mail"), **backend_env})

    def run(*args):
        return subprocess.run(MANAGE + list(args), env=env, capture_output=True, text=True, check=True, cwd=ROOT,
                              timeout=300)

    run("migrate", "--noinput", "-v0")
    run("correspondence_demo", "--without-register")
    before = set(tmp_path.glob("mail/*"))  # the demo's review notifications
    code = ("from django.contrib.auth import get_user_model; from wagtail_correspondence.models import "
            "LetterTemplatePage; from wagtail_correspondence.services import letters as s; "
            "agent = get_user_model().objects.get(username='agent'); "
            "page = LetterTemplatePage.objects.get(slug='payment-reminder', locale__language_code='en'); "
            "letter = s.generate_letter(agent, s.LetterRequest(template=page, customer_id='C-1004', channel='email')); "
            "print('REF', letter.reference, [d.status for d in letter.dispatches.all()])")
    generated = run("shell", "-c", code).stdout
    reference = generated.split("REF ", 1)[1].split()[0]
    assert "['queued', 'queued']" in generated  # nothing sent before the worker runs
    assert set(tmp_path.glob("mail/*")) == before

    run(*worker)
    status = run("shell", "-c", "from wagtail_correspondence.models import Dispatch; "
                                "print(sorted(Dispatch.objects.values_list('channel', 'status')))").stdout
    assert "[('archive', 'sent'), ('email', 'sent')]" in status
    [mail_file] = set(tmp_path.glob("mail/*")) - before
    message = email.message_from_bytes(mail_file.read_bytes().split(b"\n" + b"-" * 79)[0],
                                       policy=email.policy.default)
    assert message["X-Correspondence-Reference"] == reference
    assert message["To"] == "dirk.maes@example.org"
    assert list(tmp_path.glob(f"private/archive/*/*/{reference}.pdf"))


@pytest.mark.migrations
def test_a_batch_worker_killed_mid_run_resumes_without_duplicates(tmp_path):
    """A real worker process is killed (SIGKILL) while it generates a batch; a new worker
    finishes it: every row gets exactly one letter, and the numbers have no gap."""
    import signal
    import time

    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "TASKS_BACKEND")}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
                "DJANGO_SETTINGS_MODULE": "correspondence_site.settings.dev",
                "PRIVATE_STORAGE_ROOT": str(tmp_path / "private"), "MEDIA_ROOT": str(tmp_path / "media"),
                "EMAIL_FILE_PATH": str(tmp_path / "mail")})

    def run(*args):
        return subprocess.run(MANAGE + list(args), env=env, capture_output=True, text=True, check=True, cwd=ROOT,
                              timeout=300)

    run("migrate", "--noinput", "-v0")
    run("correspondence_demo", "--without-register")
    rows = "customer_id,balance\n" + "".join(f"C-10{10 + n % 12},{n + 10}.00\n" for n in range(ROWS))
    (tmp_path / "rows.csv").write_text(rows)
    setup = ("from django.contrib.auth import get_user_model; from django.core.files.uploadedfile import "
             "SimpleUploadedFile; from wagtail_correspondence.models import LetterTemplatePage; "
             "from wagtail_correspondence.services import batches as b; "
             "agent = get_user_model().objects.get(username='agent'); "
             f"f = SimpleUploadedFile('rows.csv', open({str(tmp_path / 'rows.csv')!r}, 'rb').read()); "
             "batch = b.create_batch(agent, LetterTemplatePage.objects.get(slug='policy-renewal', locale__language_code='en'), f); "
             "b.check_batch(batch.pk); batch.refresh_from_db(); b.start_batch(agent, batch); print('BATCH', batch.pk)")
    batch_id = run("shell", "-c", setup).stdout.split("BATCH ", 1)[1].split()[0]
    count = ("from wagtail_correspondence.models import Letter, BatchRow; "
             "print('COUNT', Letter.objects.count(), BatchRow.objects.filter(status='generated').count())")

    run_it = f"from wagtail_correspondence.services.batches import run_batch; run_batch({batch_id})"
    worker = subprocess.Popen(MANAGE + ["shell", "-c", run_it], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        letters = int(run("shell", "-c", count).stdout.split("COUNT ", 1)[1].split()[0])
        if letters >= 5:
            break
        time.sleep(0.5)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    letters, generated = map(int, run("shell", "-c", count).stdout.split("COUNT ", 1)[1].split()[:2])
    assert 5 <= letters < ROWS and letters == generated  # killed part-way; no letter without its row

    run("shell", "-c", run_it)
    check = ("from wagtail_correspondence.models import Letter, BatchRow, LetterBatch; "
             "refs = sorted(int(r[-6:]) for r in Letter.objects.values_list('reference', flat=True)); "
             f"print('DONE', Letter.objects.count(), BatchRow.objects.filter(status='generated').count(), "
             f"refs == list(range(1, len(refs) + 1)), LetterBatch.objects.get(pk={batch_id}).status, "
             "BatchRow.objects.filter(letter__isnull=False).values('letter').distinct().count())")
    done = run("shell", "-c", check).stdout.split("DONE ", 1)[1].split()
    assert done == [str(ROWS), str(ROWS), "True", "completed", str(ROWS)]


@pytest.mark.migrations
def test_the_worker_merges_a_print_run_started_from_the_admin_service(tmp_path):
    """A print run started as the admin's button starts it is queued in the task table and
    merged by a real `db_worker`: done, its letters sent, its files in the print storage."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "TASKS_BACKEND")}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
                "DJANGO_SETTINGS_MODULE": "correspondence_site.settings.dev",
                "PRIVATE_STORAGE_ROOT": str(tmp_path / "private"), "MEDIA_ROOT": str(tmp_path / "media"),
                "EMAIL_FILE_PATH": str(tmp_path / "mail")})

    def run(*args):
        return subprocess.run(MANAGE + list(args), env=env, capture_output=True, text=True, check=True, cwd=ROOT,
                              timeout=300)

    run("migrate", "--noinput", "-v0")
    run("correspondence_demo", "--without-register")
    code = ("from django.contrib.auth import get_user_model; from wagtail_correspondence.models import "
            "LetterTemplatePage; from wagtail_correspondence.services import letters as s; "
            "from wagtail_correspondence.services.printing import start_print_run; "
            "User = get_user_model(); agent = User.objects.get(username='agent'); "
            "page = LetterTemplatePage.objects.get(slug='policy-renewal', locale__language_code='en'); "
            "[s.generate_letter(agent, s.LetterRequest(template=page, customer_id=c, channel='print')) "
            "for c in ('C-1002', 'C-1006', 'C-1008')]; "
            "run = start_print_run(user=User.objects.get(username='supervisor')); "
            "print('RUN', run.pk, run.status, run.letter_count)")
    started = run("shell", "-c", code).stdout.split("RUN ", 1)[1].split()
    assert started[1:] == ["queued", "3"]  # nothing merged before the worker runs

    run("db_worker", "--queue-name", "*", "--batch", "--no-startup-delay")
    check = ("from wagtail_correspondence.models import Dispatch, PrintRun; "
             f"run = PrintRun.objects.get(pk={started[0]}); "
             "print('DONE', run.status, run.letters_merged, run.pdf_path, "
             "sorted(set(Dispatch.objects.filter(channel='print').values_list('status', flat=True))))")
    done = run("shell", "-c", check).stdout.split("DONE ", 1)[1].split()
    assert done[:2] == ["done", "3"] and done[3:] == ["['sent']"]
    assert (tmp_path / "private" / "print" / done[2]).read_bytes().startswith(b"%PDF")
