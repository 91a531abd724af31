"""Where a printed letter breaks across pages: its ending (closing, signature, notice) never
starts a page alone, without any of the letter's text (502 printed reminders once took 912
pages, many a second page holding "Kind regards," and the signature only).

These are the print document's CSS rules as WeasyPrint applies them; the Typst backend, which
writes the same rules in Typst, is checked in tests/test_pdf_typst.py."""

import subprocess

import pytest

from wagtail_correspondence.rendering.document import PAGINATION_CSS, render_letter_document
from wagtail_correspondence.rendering.pdf import PageSetup, PdfMetadata, WeasyPrintBackend, render_pdf

CLOSING = "<p>Kind regards,</p><p><b>Northwind Mutual</b><br>Customer Service</p>"


def page_text(content, number):
    return subprocess.run(["pdftotext", "-f", str(number), "-l", str(number), "-layout", "-", "-"], input=content,
                          capture_output=True, check=True).stdout.decode()


def letter_document(layout, paragraphs):
    body = "".join(f"<p>Paragraph {n}: we have reviewed your account.</p>" for n in range(1, paragraphs + 1))
    return render_letter_document(layout=layout, body_html=body + CLOSING, recipient_lines=["Ada Peeters"],
                                  subject="Payment reminder")


def printed(layout, html):
    return render_pdf(html, PdfMetadata(title="Payment reminder"), page=PageSetup.for_layout(layout),
                      backend=WeasyPrintBackend())


def test_the_closing_stays_with_the_paragraph_before_it(standard_layout):
    assert PAGINATION_CSS in letter_document(standard_layout, 1)
    # The case of the reminders: a body whose closing, printed without the rules, ends up alone
    # at the top of page 2 (every paragraph of the letter on page 1).
    for paragraphs in range(8, 40):
        html = letter_document(standard_layout, paragraphs)
        before = printed(standard_layout, html.replace(PAGINATION_CSS, ""))
        if before.pages == 2 and "Paragraph" not in page_text(before.content, 2):
            break
    else:
        pytest.fail("no body length puts the closing alone on page 2")
    assert "Kind regards" in page_text(before.content, 2) or "Customer Service" in page_text(before.content, 2)

    after = printed(standard_layout, html)
    assert after.pages == 2
    first, second = page_text(after.content, 1), page_text(after.content, 2)
    assert f"Paragraph {paragraphs}:" in second and "Kind regards" in second and "Customer Service" in second
    assert "Kind regards" not in first and "Customer Service" not in first
    assert f"Paragraph {paragraphs - 2}:" in first  # the ending took one paragraph along, no more


def test_a_letter_that_fits_stays_on_one_page(standard_layout):
    result = printed(standard_layout, letter_document(standard_layout, 8))
    assert result.pages == 1 and "Kind regards" in page_text(result.content, 1)
