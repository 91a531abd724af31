"""The supervisor sends the letters waiting for print: clicks the button, follows the run's
progress on its page while a worker merges the letters, and downloads the merged PDF."""

import copy

import pytest

from tests import factories
from wagtail_correspondence import roles
from wagtail_correspondence.models import Dispatch, DispatchStatus, PrintRun
from wagtail_correspondence.services import letters as service
from wagtail_correspondence.services import printing

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def waiting_letters(transactional_db, customers):
    customers(factories.SAMPLE_DATA)
    agent = factories.user("agent", roles.AGENTS)
    dictionary = factories.dictionary()
    fragment = factories.fragment(dictionary, key="greeting", html="<p>Dear {{ customer.first_name }},</p>")
    template = factories.letter_template(dictionary, factories.layout(), [fragment], channels=["print"])
    letters = []
    for name in ("Ada", "Bo", "Cy"):
        data = copy.deepcopy(factories.SAMPLE_DATA)
        data["customer"]["first_name"] = name
        request = service.LetterRequest(template=template, data=data, channel="print")
        letters.append(service.generate_letter(agent, request))
    return letters


def test_supervisor_sends_a_print_run_and_downloads_it(open_session, waiting_letters, monkeypatch, screenshot,
                                                       tmp_path):
    factories.user("supervisor", roles.SUPERVISORS)
    queue = []
    # The task queue: runs wait here until the "worker" below takes them, as a real worker would.
    monkeypatch.setattr(printing, "enqueue_print_run", queue.append)
    page = open_session("supervisor", factories.PASSWORD)
    page.goto("/admin/correspondence/letters/print-runs/")
    assert page.locator(".w-breadcrumbs").get_by_text("Print runs").is_visible()
    page.get_by_text("3 letters wait for print.").wait_for()
    screenshot(page, "print-runs-waiting")
    page.get_by_role("button", name="Send 3 letters to print").click()

    page.get_by_text("Print run of 3 letters started").wait_for()
    [run_id] = queue
    assert page.url.endswith(f"/admin/correspondence/letters/print-runs/{run_id}/")
    assert page.locator("[data-print-run-status]").inner_text() == "Waiting for a worker"
    assert page.locator("[data-progress-text]").inner_text() == "0 of 3 letters merged (0%)"
    screenshot(page, "print-run-queued")

    assert printing.execute_print_run(run_id, worker_id="test-worker") == "done"  # the worker
    download_button = page.get_by_role("link", name="Download the PDF")
    download_button.wait_for()  # the page followed the run and reloaded when it was done
    assert page.locator("[data-print-run-status]").inner_text() == "Sent to the print room"
    assert page.locator("[data-progress-text]").inner_text() == "3 of 3 letters merged (100%)"
    screenshot(page, "print-run-done", docs="print-run-done")
    # The button's label is visible, not covered by an icon or anything else.
    assert download_button.evaluate(
        "el => { const r = el.getBoundingClientRect(); const hit = document.elementFromPoint(r.x + r.width / 2, "
        "r.y + r.height / 2); return el === hit || el.contains(hit) && hit.tagName !== 'svg' && "
        "!hit.closest('svg'); }")
    with page.expect_download() as download_info:
        download_button.click()
    path = tmp_path / "letters.pdf"
    download_info.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
    run = PrintRun.objects.get(pk=run_id)
    assert run.letter_count == 3 and run.created_by.username == "supervisor"
    assert set(Dispatch.objects.filter(channel="print").values_list("status", flat=True)) == {DispatchStatus.SENT}
