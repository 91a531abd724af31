"""Enclosures, clicked through: the agent builds a policy renewal, sees the terms listed as
always enclosed, ticks the direct debit mandate, previews and generates; the letter's page lists
both enclosures after the letter, and the downloaded PDF holds them after the letter's pages."""

import re
import subprocess

import pytest

from wagtail_correspondence.models import Letter

from .builder import open_builder
from .test_letter_journey import PASSWORD, demo  # noqa: F401 (demo: a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CUSTOMER_ID, CUSTOMER_NAME = "C-1002", "Bram Janssens"  # prefers print


def test_an_agent_encloses_a_form_with_a_renewal(demo, open_session, screenshot, tmp_path):  # noqa: F811
    page = open_session("agent", PASSWORD)
    open_builder(page, "policy-renewal", "Janssens", CUSTOMER_NAME, CUSTOMER_ID)
    assert "General terms and conditions" in page.locator("[data-mandatory-enclosures]").inner_text()
    mandate = page.get_by_label("Direct debit mandate")
    assert not mandate.is_checked()
    mandate.check()
    page.locator("[data-problems]", has_text="Ready to generate").wait_for()
    screenshot(page, "enclosures-in-the-builder")
    page.locator("[data-generate]").click()
    page.wait_for_url(re.compile(r".*/admin/correspondence/letters/inspect/\d+/$"), timeout=60_000)
    page.locator("[data-enclosure-pin=policy-terms]").wait_for()
    page.locator("[data-enclosure-pin=direct-debit-mandate]").wait_for()
    screenshot(page, "letter-with-enclosures")
    reference = page.locator("[data-letter-reference]").inner_text().strip()

    with page.expect_download(predicate=lambda download: "inline=" not in download.url) as info:
        page.locator("[data-download-pdf]").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout.decode()
    assert text.index("Janssens") < text.index("General terms and conditions") < text.index("Direct debit mandate")
    letter = Letter.objects.get(reference=reference)
    assert letter.enclosure_keys == ["policy-terms", "direct-debit-mandate"]
    assert [pin.enclosure.key for pin in letter.enclosure_pins.order_by("position")] == [
        "policy-terms", "direct-debit-mandate"]
