"""An agent uploads payment reminders for a batch, reads the dry run (the channel each row
really takes and why, the rows the data rules refuse), generates the letters, sends them to
print, and follows the finished batch's links: its letters, its results file, its print run."""

import csv
import io
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from correspondence_demo.content import DemoBuilder
from wagtail_correspondence.models import BatchStatus, Letter, LetterBatch

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "journey-demo-password"
ROWS = 24  # the demo file's first rows: row 7 is due before the letter's date, row 11 owes 0.00


@pytest.fixture
def demo(transactional_db):
    DemoBuilder(password=PASSWORD, log=lambda *args: None, register=False).build()
    return get_user_model().objects.get(username="agent")


@pytest.fixture
def batch_file(tmp_path):
    source = Path(__file__).resolve().parents[2] / "site" / "demo_data" / "batch-1000.csv"
    lines = source.read_text(encoding="utf-8-sig").splitlines()[:ROWS + 1]
    path = tmp_path / "reminders.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_agent_runs_a_batch_and_follows_its_results(demo, batch_file, open_session, screenshot):
    page = open_session("agent", PASSWORD)

    # 1. Letters → Batches → New batch: the demo file's first rows for the payment reminder.
    page.locator("#wagtail-sidebar").get_by_role("button", name="Letters").click()
    page.get_by_role("link", name="Batches").click()
    page.get_by_role("link", name="New batch").click()
    page.get_by_label("Template").select_option(label="Payment reminder")
    page.get_by_label("Name").fill("December reminders")
    page.set_input_files("input[name=file]", str(batch_file))
    screenshot(page, "upload")
    page.get_by_role("button", name="Upload and check").click()
    page.wait_for_url(re.compile(r".*/batches/\d+/$"))
    batch_url = page.url

    # 2. The dry run: where the letters really go, and the rows the data rules refuse.
    routes = page.locator("[data-batch-routes]")
    routes.wait_for()
    sms = routes.locator("tr", has_text="SMS → Print: no SMS backend configured")
    assert sms.count() == 1
    errors = page.locator("[data-batch-errors]")
    due = errors.locator("tr", has=page.locator("td", has_text=re.compile(r"^7$")))
    assert "due_date" in due.inner_text() and "after the letter's date" in due.inner_text()
    zero = errors.locator("tr", has=page.locator("td", has_text=re.compile(r"^11$")))
    assert "balance" in zero.inner_text() and "greater than 0" in zero.inner_text()
    batch = LetterBatch.objects.get(name="December reminders")
    assert (batch.report["valid"], batch.report["errors"]) == (ROWS - 2, 2)
    screenshot(page, "dry-run", docs="batch-dry-run")

    # 3. Generate: the page follows the run to its end.
    page.get_by_role("button", name=f"Generate {ROWS - 2} letters").click()
    page.locator("[data-batch-status]", has_text="Completed").wait_for()
    results = page.locator("[data-batch-results]")
    results.wait_for()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETED
    waiting = page.locator("[data-batch-waiting-print]")
    assert waiting.is_visible()  # print letters (and the SMS ones) wait for the print room

    # 4. The print room sends them: a supervisor's print run (agents do not send print runs; the
    # task runs at once with the tests' task backend). The batch page then names its print run.
    supervisor = open_session("supervisor", PASSWORD)
    supervisor.goto("/admin/correspondence/letters/print-runs/")
    supervisor.get_by_role("button", name=re.compile(r"^Send \d+ letters? to print$")).click()
    supervisor.get_by_role("link", name="Download the PDF").wait_for()
    page.goto(batch_url)
    run = page.locator("[data-batch-print-run]")
    run.wait_for()
    printed = Letter.objects.filter(batch_row__batch=batch, dispatches__channel="print").count()
    assert f"{printed} letters of this batch" in run.inner_text() and printed >= 4
    screenshot(page, "finished", docs="batch-finished")

    # 5. The results file: every row, the channel taken, the errors.
    with page.expect_download() as download:
        page.locator("[data-batch-results-csv]").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert len(rows) == ROWS
    by_row = {row["row"]: row for row in rows}
    assert by_row["7"]["status"] == "Error" and "due_date" in by_row["7"]["errors"]
    sms_rows = [row for row in rows if row["requested_channel"] == "SMS"]
    assert sms_rows and all(row["channel"] == "Print" and row["delivery"] == "Sent" and row["print_run"]
                            for row in sms_rows)

    # 6. Its letters: the letter list, filtered to the batch.
    page.locator("[data-batch-letters]").click()
    page.wait_for_url(re.compile(rf".*/letters/\?batch={batch.pk}$"))
    references = list(Letter.objects.filter(batch_row__batch=batch).values_list("reference", flat=True))
    assert len(references) == ROWS - 2
    listing = page.locator("main").inner_text()
    assert sum(reference in listing for reference in references) >= min(len(references), 10)
    screenshot(page, "letters")

    # 7. Its print run: the run's own page for the supervisor (a run holds every department's
    # letters), the print room's list for both.
    supervisor.goto(batch_url)
    supervisor.locator("[data-batch-print-run]").get_by_role("link", name=re.compile(r"^Print run of ")).click()
    supervisor.wait_for_url(re.compile(r".*/print-runs/\d+/$"))
    supervisor.get_by_role("heading", name=re.compile(r"^Print run of ")).wait_for()
    page.goto(batch_url)
    assert page.locator("[data-batch-print-run]").get_by_role("link", name=re.compile(r"^Print run of ")).count() == 0
    page.locator("[data-batch-print-run]").get_by_role("link", name="Print runs").click()
    page.wait_for_url("**/print-runs/")
    assert page.locator("table.listing tbody tr").count() >= 1
