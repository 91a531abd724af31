"""PDF rendering with each backend: merged text and footer read back with pdftotext,
metadata, PDF/A, and proof that no backend reads local files or fetches URLs."""

import copy
import http.server
import io
import subprocess
import threading

import pytest
from pypdf import PdfReader

from wagtail_correspondence.rendering.assembly import LetterInput, assemble, live_sources
from wagtail_correspondence.rendering.pdf import (
    PageSetup,
    PdfkitBackend,
    PdfMetadata,
    PdfRenderingError,
    TypstBackend,
    WeasyPrintBackend,
    render_pdf,
)

from . import factories

BACKENDS = [WeasyPrintBackend, PdfkitBackend, TypstBackend]


def pdf_text(content):
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
                          ).stdout.decode()


@pytest.fixture
def letter(customer_dictionary):
    layout = factories.layout(footer="<p>Northwind Mutual SA · RPM 0123.456.789</p>")
    paragraphs = "".join(f"<p>Paragraph {n}: {{{{ customer.first_name }}}} owes {{{{ balance|money }}}}.</p>"
                         for n in range(60))  # long enough for two pages
    fragment = factories.fragment(customer_dictionary, key="long", html=paragraphs)
    page = factories.letter_template(customer_dictionary, layout, [fragment])
    return assemble(live_sources(page), LetterInput(data=copy.deepcopy(factories.SAMPLE_DATA),
                                                    reference="OUT-2026-000042"))


METADATA = PdfMetadata(title="Your account C-1001", subject="OUT-2026-000042", author="Northwind Mutual")


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_pdf_holds_the_merged_letter_and_its_metadata(letter, backend_class):
    rendered = render_pdf(letter.html, METADATA, page=PageSetup.for_layout(letter.sources.layout),
                          backend=backend_class())
    assert rendered.content.startswith(b"%PDF") and rendered.pages >= 2
    text = pdf_text(rendered.content)
    assert "Paragraph 0: Ada owes €250.00." in text and "Paragraph 59: Ada owes €250.00." in text
    assert "Ada Peeters" in text and "Rue de la Loi 16" in text  # the address in the window
    assert "OUT-2026-000042" in text
    assert "Northwind Mutual SA · RPM 0123.456.789" in text
    info = PdfReader(io.BytesIO(rendered.content)).metadata
    assert (info.title, info.subject, info.author) == ("Your account C-1001", "OUT-2026-000042", "Northwind Mutual")


def test_weasyprint_prints_page_x_of_y_and_the_footer_on_every_page(letter):
    rendered = render_pdf(letter.html, METADATA, backend=WeasyPrintBackend())
    pages = pdf_text(rendered.content).split("\f")
    total = rendered.pages
    for number in range(1, total + 1):
        assert f"Page {number} of {total}" in pages[number - 1]
        assert "Northwind Mutual SA" in pages[number - 1]


def test_weasyprint_pdfa_3b(letter):
    rendered = render_pdf(letter.html, METADATA, variant="pdf/a-3b", backend=WeasyPrintBackend())
    reader = PdfReader(io.BytesIO(rendered.content))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    assert "/OutputIntents" in reader.trailer["/Root"]


def test_pdfkit_refuses_pdfa(letter):
    with pytest.raises(PdfRenderingError, match="cannot produce"):
        PdfkitBackend().render(letter.html, METADATA, variant="pdf/a-3b")


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    requests = []

    def do_GET(self):  # noqa: N802 (the standard library's name)
        RecordingHandler.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_server():
    RecordingHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_no_backend_reads_local_files_or_fetches_urls(tmp_path, loopback_server, backend_class):
    secret = tmp_path / "secret.html"
    secret.write_text("<p>TOP-SECRET-FILE-CONTENT</p>")
    css = tmp_path / "evil.css"
    css.write_text("body::before { content: 'CSS-FROM-DISK'; }")
    html = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
      <link rel="stylesheet" href="file://{css}"><link rel="stylesheet" href="{loopback_server}/style.css">
      <style>@import url("{loopback_server}/import.css"); .bg {{ background: url("{loopback_server}/bg.png"); }}</style>
      </head><body><p class="bg">Visible text</p>
      <img src="file://{secret}"><img src="{loopback_server}/pixel.png"><img src="pixel-relative.png">
      <iframe src="file://{secret}"></iframe><object data="file://{secret}"></object>
      <embed src="{loopback_server}/embed"><script>document.write('SCRIPT-RAN')</script></body></html>"""
    rendered = backend_class().render(html, METADATA)
    text = pdf_text(rendered.content)
    assert "Visible text" in text
    assert "TOP-SECRET" not in text and "CSS-FROM-DISK" not in text and "SCRIPT-RAN" not in text
    assert RecordingHandler.requests == []


def test_customer_data_with_urls_is_text_not_a_reference(customer_dictionary, standard_layout, loopback_server):
    fragment = factories.fragment(customer_dictionary, key="f", html="<p>{{ customer.first_name }}</p>")
    page = factories.letter_template(customer_dictionary, standard_layout, [fragment])
    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["customer"]["first_name"] = f'<img src="{loopback_server}/tracker.png"><img src="file:///etc/passwd">'
    letter = assemble(live_sources(page), LetterInput(data=data))
    rendered = render_pdf(letter.html, METADATA, backend=WeasyPrintBackend())
    assert "tracker.png" in pdf_text(rendered.content)  # printed as text
    assert RecordingHandler.requests == []


def test_the_loopback_server_would_see_a_fetch(loopback_server):
    """Control for the tests above: an unprotected renderer does fetch, and it is recorded."""
    from weasyprint import HTML

    HTML(string=f'<img src="{loopback_server}/pixel.png">').write_pdf()
    assert RecordingHandler.requests == ["/pixel.png"]


def test_images_are_embedded_from_the_image_library(customer_dictionary, tmp_path):
    from wagtail.images.models import Image
    from wagtail.images.tests.utils import get_test_image_file

    image = Image.objects.create(title="Logo", file=get_test_image_file(colour="red"))
    layout = factories.layout(name="With logo", logo=image)
    fragment = factories.fragment(customer_dictionary, key="pictured", body=factories.fragment_body(
        factories.rich_text("<p>Our new office:</p>"),
        ("image", {"image": image, "alt_text": "The office", "width_mm": 40, "alignment": "left"})))
    page = factories.letter_template(customer_dictionary, layout, [fragment])
    letter = assemble(live_sources(page), LetterInput(data=copy.deepcopy(factories.SAMPLE_DATA)))
    assert letter.problems == []
    assert letter.html.count('src="data:image/png;base64,') == 2  # the logo and the image block
    assert "/media/" not in letter.html and "/media/" not in letter.email_html
    rendered = WeasyPrintBackend().render(letter.html, METADATA)
    assert rendered.refused_urls == []
    path = tmp_path / "letter.pdf"
    path.write_bytes(rendered.content)
    listing = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, check=True, text=True).stdout
    kinds = [line.split()[2] for line in listing.splitlines()[2:] if line.strip()]  # after two header lines
    assert kinds.count("image") == 2


def every_route_out(secret_dir, server):
    """A document trying each way HTML and CSS have to load something: from this machine's
    files (``secret_dir``) and from the network (``server``, a local one that records requests)."""
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
      <base href="{server}/base/">
      <link rel="stylesheet" href="file://{secret_dir}/evil.css">
      <link rel="stylesheet" href="file:///etc/passwd">
      <link rel="stylesheet" href="{server}/link.css"><link rel="icon" href="{server}/icon.png">
      <link rel="preload" href="{server}/preload.png" as="image"><link rel="prefetch" href="{server}/prefetch">
      <script src="{server}/script.js"></script>
      <style>
        @import url("{server}/import.css");
        @import "file://{secret_dir}/evil.css";
        @font-face {{ font-family: Leak; src: url("{server}/font.woff2"), url("file://{secret_dir}/font.ttf"); }}
        body {{ font-family: Leak, sans-serif; background-image: url("{server}/body.png"); }}
        .list {{ list-style-image: url("{server}/bullet.png"); }}
        .border {{ border-image: url("{server}/border.png") 30 round; border-style: solid; }}
        .set {{ background-image: image-set("{server}/set.png" 1x); }}
        .before::before {{ content: url("{server}/before.png"); }}
        @page {{ background: url("{server}/page.png"); }}
      </style></head>
      <body><p>Visible text</p>
      <img src="file:///etc/passwd"><img src="file://{secret_dir}/secret.html"><img src="relative.png">
      <img src="{server}/img.png" srcset="{server}/srcset.png 2x"><picture><source srcset="{server}/source.png">
      <img src="{server}/picture.png"></picture><input type="image" src="{server}/input.png">
      <iframe src="{server}/iframe"></iframe><iframe src="file:///etc/passwd"></iframe>
      <iframe src="file://{secret_dir}/secret.html"></iframe>
      <object data="{server}/object"></object><object data="file:///etc/passwd"></object>
      <embed src="{server}/embed"><embed src="file://{secret_dir}/secret.html">
      <video poster="{server}/poster.png" src="{server}/video.mp4"></video><audio src="{server}/audio.mp3"></audio>
      <svg width="10" height="10"><image href="{server}/svg-image.png" width="10" height="10"/>
        <image href="file://{secret_dir}/secret.png" width="10" height="10"/></svg>
      <div style="background: url('{server}/inline-style.png')" class="list border set before">
        <ul><li>item</li></ul></div>
      <a href="{server}/link-target">a link is not fetched to make the PDF</a>
      <script>var x = new XMLHttpRequest(); x.open("GET", "{server}/xhr", false); x.send();
        document.write("SCRIPT-RAN"); location.href = "file:///etc/passwd";</script>
      </body></html>"""


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_no_route_out_is_taken_by_either_backend(tmp_path, loopback_server, backend_class):
    (tmp_path / "secret.html").write_text("<p>TOP-SECRET-FILE-CONTENT</p>")
    (tmp_path / "evil.css").write_text("body::after { content: 'CSS-FROM-DISK'; }")
    rendered = backend_class().render(every_route_out(tmp_path, loopback_server), METADATA)
    text = pdf_text(rendered.content)
    assert "Visible text" in text  # the document itself was rendered
    for leaked in ("TOP-SECRET", "CSS-FROM-DISK", "SCRIPT-RAN", "root:x:0:0"):
        assert leaked not in text, leaked
    assert RecordingHandler.requests == []


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_data_and_agent_text_with_references_load_nothing(customer_dictionary, standard_layout, loopback_server,
                                                          backend_class):
    """Customer data and agent text are escaped before any backend sees them: their markup is
    printed, never loaded."""
    body = factories.template_body(
        ("fragment", factories.fragment(customer_dictionary, key="f", html="<p>{{ customer.first_name }}</p>")),
        ("agent_slot", {"name": "note", "label": "Note", "help": "", "required": True, "max_length": 500,
                        "default_text": ""}))
    page = factories.letter_template(customer_dictionary, standard_layout, [], body=body)
    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["customer"]["first_name"] = f'<img src="{loopback_server}/tracker.png"><link rel=stylesheet href=x.css>'
    note = f'<iframe src="file:///etc/passwd"></iframe><style>@import "{loopback_server}/note.css";</style>'
    letter = assemble(live_sources(page), LetterInput(data=data, slots={"note": note}))
    assert letter.problems == []
    text = pdf_text(render_pdf(letter.html, METADATA, backend=backend_class()).content)
    assert "tracker.png" in text and "/etc/passwd" in text  # printed as text
    assert RecordingHandler.requests == [] and "root:x:0:0" not in text


@pytest.mark.parametrize("backend_class", BACKENDS)
def test_a_refresh_or_a_redirect_goes_nowhere(loopback_server, backend_class):
    """wkhtmltopdf follows a meta refresh (into its closed proxy, so the PDF shows its error
    page); neither backend reaches the address."""
    html = (f'<html><head><meta http-equiv="refresh" content="0; url={loopback_server}/refresh"></head>'
            f'<body><p>Visible</p></body></html>')
    rendered = backend_class().render(html, METADATA)
    assert rendered.content.startswith(b"%PDF")
    assert RecordingHandler.requests == []
