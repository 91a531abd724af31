"""The supervisor exports a register list too long to download at once: clicks Download XLSX,
lands on the Exports page, follows the progress while a worker writes the file, and downloads it."""

import datetime

import openpyxl
import pytest

from tests import factories
from wagtail_correspondence import roles
from wagtail_correspondence.models import Correspondence, Department, Direction, RegisterExport
from wagtail_correspondence.services import register_exports

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def long_register(transactional_db, settings):
    configured = settings.WAGTAIL_CORRESPONDENCE
    register = {**configured.get("REGISTER", {}), "EXPORT_INLINE_LIMIT": 5}
    settings.WAGTAIL_CORRESPONDENCE = {**configured, "REGISTER": register}
    billing = Department.add_root(name="Billing", code="billing")
    Correspondence.objects.bulk_create(
        Correspondence(reference=f"IN-2026-{number:06}", subject="=1+1" if number == 3 else f"Refund {number}",
                       direction=Direction.INBOUND, department=billing,
                       registered_at=START + datetime.timedelta(minutes=number)) for number in range(1, 13))
    factories.user("supervisor", roles.SUPERVISORS)


def test_supervisor_exports_a_long_list_in_the_background(open_session, long_register, monkeypatch, screenshot,
                                                          tmp_path):
    queue = []
    # The task queue: the export waits here until the "worker" below takes it, as a real worker would.
    monkeypatch.setattr(register_exports, "enqueue_export", queue.append)
    page = open_session("supervisor", factories.PASSWORD)
    page.goto("/admin/correspondence/register/entries/?direction__exact=inbound")
    page.get_by_text("12 register entries").first.wait_for()
    page.get_by_role("link", name="Download XLSX").click()

    page.get_by_text("its export is being written in the background").wait_for()
    assert page.url.endswith("/admin/correspondence/register/exports/")
    assert page.locator(".w-breadcrumbs").get_by_text("Exports").is_visible()
    [export_id] = queue
    row = page.locator(f'[data-export="{export_id}"]')
    assert row.locator("[data-export-status]").text_content() == "Waiting for a worker"
    assert "Inbound register" in row.inner_text()
    screenshot(page, "export-queued")

    assert register_exports.run_export(export_id, worker_id="test-worker") == "done"  # the worker
    download_button = page.get_by_role("link", name="Download")
    download_button.wait_for()  # the page followed the export and reloaded when it was written
    row = page.locator(f'[data-export="{export_id}"]')
    assert row.locator("[data-export-status]").text_content() == "Ready"
    assert "12 of 12 rows (100%)" in row.inner_text()
    screenshot(page, "export-ready")
    with page.expect_download() as download_info:
        download_button.click()
    download = download_info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    export = RegisterExport.objects.get(pk=export_id)
    assert download.suggested_filename == export.file_name and path.suffix == ".xlsx"
    rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
    assert len(rows) == 13 and rows[1][0] == "IN-2026-000012"
    assert "'=1+1" in [row[4] for row in rows]  # the subject, neutralised as in every export
