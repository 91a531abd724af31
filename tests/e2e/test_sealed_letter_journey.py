"""With the organisation's seal configured, an agent generates a letter in the builder, the
letter's page says the seal is intact, and the PDF downloaded from it validates with pyHanko
against the CA (a throwaway one, made for the test as the demo makes its own)."""

import io
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from correspondence_demo import seal as demo_seal
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from wagtail_correspondence.models import Letter

from .builder import open_builder
from .test_letter_journey import CUSTOMER_ID, CUSTOMER_NAME, PASSWORD, demo  # noqa: F401 (demo: a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sealing(settings, tmp_path):
    folder = tmp_path / "seal"
    demo_seal.create(folder, "Northwind Mutual")
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE,
                                       "PDF_SEAL": demo_seal.settings_for(folder)}
    return folder / demo_seal.CA_FILE


def test_a_sealed_letter_from_the_builder_to_a_validated_download(demo, sealing, open_session,  # noqa: F811
                                                                  screenshot, tmp_path):
    page = open_session("agent", PASSWORD)
    open_builder(page, "payment-reminder", CUSTOMER_NAME.split()[1], CUSTOMER_NAME, CUSTOMER_ID)
    page.locator("[data-problems]", has_text="Ready to generate").wait_for()
    page.locator("[data-generate]").click()
    page.wait_for_url(re.compile(r".*/admin/correspondence/letters/inspect/\d+/$"), timeout=60_000)
    page.wait_for_load_state("load")
    reference = page.locator("[data-letter-reference]").inner_text().strip()

    # The letter's page: the seal, checked as the page was made.
    seal = page.locator("[data-pdf-seal]")
    assert seal.get_attribute("data-pdf-seal") == "intact"
    assert "INTACT" in seal.inner_text() and "Sealed by Northwind Mutual seal (demo)" in seal.inner_text()
    screenshot(page, "sealed-letter")

    # The downloaded file validates on its own, against the CA.
    with page.expect_download(predicate=lambda download: "inline=" not in download.url) as info:
        page.locator("[data-download-pdf]").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    [signature] = PdfFileReader(io.BytesIO(path.read_bytes())).embedded_signatures
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(sealing))], allow_fetching=False)
    with ThreadPoolExecutor(max_workers=1) as pool:  # Playwright runs an event loop in this thread
        status = pool.submit(validate_pdf_signature, signature, context).result()
    assert status.intact and status.valid and status.trusted and status.coverage.name == "ENTIRE_FILE"
    letter = Letter.objects.get(reference=reference)
    assert status.signing_cert.sha256.hex() == letter.pdf_sealed_by
    assert status.signer_reported_dt == letter.generated_at.replace(microsecond=0)
