"""The Typst backend: letters generated through the services with PDF_BACKEND="typst" and read
back with pdftotext and pikepdf; customer data that looks like Typst printed as text and
changing nothing else; nothing read outside the render's own root; PDF/A-2b, tags and the
same bytes for the same letter."""

import base64
import copy
import datetime
import io
import re
import subprocess
import time
import unicodedata

import pikepdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wagtail.images.tests.utils import get_test_image_file

from wagtail_correspondence.rendering.assembly import LetterInput, assemble, live_sources
from wagtail_correspondence.rendering.document import render_letter_document
from wagtail_correspondence.rendering.pdf import PageSetup, PdfMetadata, TypstBackend, get_pdf_backend, render_pdf
from wagtail_correspondence.rendering.typst_document import translate, typst_string
from wagtail_correspondence.services import letters as service

from . import factories

CREATED = datetime.datetime(2026, 3, 4, 10, 30, tzinfo=datetime.timezone.utc)
METADATA = PdfMetadata(title="Your account C-1001", subject="OUT-2026-000042", author="Northwind Mutual",
                       created=CREATED)
FOOTER = "<p>Northwind Mutual SA · RPM 0123.456.789</p>"


def pdf_text(content, *args):
    return subprocess.run(["pdftotext", *args, "-", "-"], input=content, capture_output=True, check=True
                          ).stdout.decode()


def docinfo(content):
    with pikepdf.open(io.BytesIO(content)) as pdf:
        return {str(key): str(value) for key, value in pdf.docinfo.items()}


def words(text):
    """Text with its whitespace normalised, and without the bidi embedding marks pdftotext
    puts around right-to-left text."""
    return " ".join(re.sub("[\u202a-\u202e]", "", text).split())


@pytest.fixture
def typst_setting(settings):
    settings.WAGTAIL_CORRESPONDENCE = {**getattr(settings, "WAGTAIL_CORRESPONDENCE", {}), "PDF_BACKEND": "typst"}


@pytest.fixture(scope="module")
def backend():
    return TypstBackend()


BODY = """<p>Dear {{ customer.first_name }},</p>
<p>Paragraph one: your balance is {{ balance|money }}.</p>
<ul><li>First point</li><li>Second point<ul><li>Nested point</li></ul></li></ul>
<ol><li>Step one</li><li>Step two</li></ol>
<h2>Your invoices</h2>
<p>Please pay <strong>in full</strong>, <em>on time</em> and <u>once</u>.</p>"""


def rich_letter_template(dictionary, layout, paragraphs=0):
    """A fragment of paragraphs and lists, a table of the invoices and a closing."""
    filler = "".join(f"<p>Filler paragraph {n}: we have reviewed your account in detail.</p>"
                     for n in range(1, paragraphs + 1))
    body = factories.fragment(dictionary, key="rich", body=factories.fragment_body(
        factories.rich_text(BODY),
        ("repeating_list", {"source": "invoices", "item_name": "item", "style": "table", "empty_text": "",
                            "columns": [{"heading": "Invoice", "value": "{{ item.number }}"},
                                        {"heading": "Amount", "value": "{{ item.amount|money }}"}],
                            "item_text": factories.RichText("")}),
        factories.rich_text(filler + "<p>Kind regards,</p><p><b>Northwind Mutual</b><br>Customer Service</p>")))
    return factories.letter_template(dictionary, layout, [body])


@pytest.fixture
def layout(db):
    return factories.layout(footer=FOOTER)


def assembled(template, data=None, slots=None):
    letter = assemble(live_sources(template), LetterInput(data=data or copy.deepcopy(factories.SAMPLE_DATA),
                                                          slots=slots or {}, reference="OUT-2026-000042"))
    assert letter.problems == []
    return letter


def render(backend, letter, metadata=METADATA):
    return backend.render(letter.html, metadata, page=PageSetup.for_layout(letter.sources.layout))


# What the letter shows -------------------------------------------------------------------


def test_a_generated_letter_prints_every_part(typst_setting, agent, one_customer, customer_dictionary, layout):
    template = rich_letter_template(customer_dictionary, layout)
    letter = service.generate_letter(agent, service.LetterRequest(template=template, customer_id="C-1001"))
    with letter.pdf.open("rb") as handle:
        content = handle.read()
    assert docinfo(content)["/Creator"].startswith("Typst")
    text = pdf_text(content, "-layout")
    for expected in ("Ada Peeters", "Rue de la Loi 16", "1000 BRUSSELS",  # the window (Belgium: no country line)
                     "Northwind Mutual · PO Box 1 · 1000 Brussels",  # the sender line
                     letter.reference, "Your account C-1001",  # reference block and subject
                     "Dear Ada,", "Paragraph one: your balance is €250.00.",
                     "First point", "Nested point", "Step two", "Your invoices",
                     "Please pay in full, on time and once.",
                     "Invoice", "Amount", "INV-1", "€200.00", "INV-2", "€50.00",  # the table
                     "Kind regards,", "Customer Service", "Northwind Mutual SA · RPM 0123.456.789",
                     "Page 1 of 1"):
        assert expected in text, expected
    assert letter.pdf_pages == 1


def test_a_two_page_letter_numbers_its_pages_and_repeats_the_footer(backend, customer_dictionary, layout):
    letter = assembled(rich_letter_template(customer_dictionary, layout, paragraphs=25))
    rendered = render(backend, letter)
    assert rendered.pages == 2
    pages = pdf_text(rendered.content, "-layout").split("\f")
    for number in (1, 2):
        assert f"Page {number} of 2" in pages[number - 1]
        assert "Northwind Mutual SA · RPM 0123.456.789" in pages[number - 1]
    assert "Filler paragraph 1:" in pages[0] and "Customer Service" in pages[1]


def test_the_page_number_wording_and_the_header_come_from_the_layout(backend, customer_dictionary, db):
    layout = factories.layout(name="French", header="<p>Northwind Mutual — Service clients</p>",
                              page_number_text="p. {page}/{pages} \\ #x")
    letter = assembled(rich_letter_template(customer_dictionary, layout, paragraphs=25))
    pages = pdf_text(render(backend, letter).content, "-layout").split("\f")
    assert "p. 1/2 \\ #x" in pages[0] and "p. 2/2 \\ #x" in pages[1]
    assert "Northwind Mutual — Service clients" in pages[0] and "Northwind Mutual — Service clients" in pages[1]


def words_with_boxes(content):
    """(word, xMin, yMin, xMax, yMax) in points, from pdftotext -bbox."""
    html = pdf_text(content, "-bbox")
    return [(word, float(x0), float(y0), float(x1), float(y1)) for x0, y0, x1, y1, word in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)]


MM = 72 / 25.4


@pytest.mark.parametrize("side", ["left", "right"])
def test_the_address_sits_in_the_window(backend, customer_dictionary, db, side):
    layout = factories.layout(name=f"Window {side}", address_window=side, window_top=55, window_side=40,
                              window_width=70, window_height=35)
    letter = assembled(rich_letter_template(customer_dictionary, layout))
    boxes = words_with_boxes(render(backend, letter).content)
    left = 40 if side == "left" else 210 - 40 - 70
    for word in ("Ada", "Peeters", "Rue", "Loi", "BRUSSELS"):
        _word, x0, y0, x1, y1 = next(box for box in boxes if box[0] == word)
        assert left * MM - 0.1 <= x0 and x1 <= (left + 70) * MM + 0.1, (word, x0 / MM, x1 / MM)
        assert 55 * MM - 0.1 <= y0 and y1 <= 90 * MM + 0.1, (word, y0 / MM, y1 / MM)
    for first_word in ("Ada", "Rue", "1000"):  # each line starts at the window's left edge
        # (the address's "1000", not the sender line's, which sits at the top of the window)
        _word, x0, _y0, _x1, _y1 = next(box for box in boxes if box[0] == first_word and box[2] > 58 * MM)
        assert x0 < (left + 2) * MM, (first_word, x0 / MM)
    _word, _x0, y0, _x1, _y1 = next(box for box in boxes if box[0] == "Northwind")  # the sender line
    assert y0 < 58 * MM
    # The letter's text starts below the window.
    _word, _x0, y0, _x1, _y1 = next(box for box in boxes if box[0] == "Dear")
    assert y0 > 90 * MM


def test_pagination_keeps_the_closing_with_the_paragraph_before_it(backend, standard_layout):
    """As test_letter_pagination checks for WeasyPrint: find a body length that would put the
    closing alone on page 2, and see that the paragraph before it goes along."""
    closing = "<p>Kind regards,</p><p><b>Northwind Mutual</b><br>Customer Service</p>"
    for paragraphs in range(8, 60):
        body = "".join(f"<p>Paragraph {n}: we have reviewed your account.</p>" for n in range(1, paragraphs + 1))
        html = render_letter_document(layout=standard_layout, body_html=body + closing, recipient_lines=["Ada"],
                                      subject="Payment reminder")
        rendered = backend.render(html, METADATA, page=PageSetup.for_layout(standard_layout))
        if rendered.pages == 2:
            break
    else:
        pytest.fail("no body reaches a second page")
    first, second = (pdf_text(rendered.content, "-f", str(n), "-l", str(n), "-layout") for n in (1, 2))
    assert "Kind regards" in second and "Customer Service" in second and "Kind regards" not in first
    assert f"Paragraph {paragraphs}:" in second  # never the ending alone
    assert f"Paragraph {paragraphs - 3}:" in first  # the ending took at most two paragraphs along


def six_lines(row):
    return "<br>".join(f"Row {row} line {line}" for line in range(1, 7))


def test_merged_cells_keep_the_columns_of_the_rows_below_in_place(backend):
    # Rowspan and colspan as Wagtail's table block writes merged cells: the rows under a tall
    # cell have fewer cells, which must still land in their own columns.
    html = render_letter_document(layout=None, title="Merged", body_html=(
        "<table><thead><tr><th>Region</th><th>Product</th><th>Amount</th></tr></thead><tbody>"
        "<tr><td rowspan=\"2\">North</td><td>Fire</td><td>Ten</td></tr>"
        "<tr><td>Flood</td><td>Twenty</td></tr>"
        "<tr><td colspan=\"2\">Total</td><td>Thirty</td></tr>"
        "<tr><td rowspan=\"9\">Overrun</td><td>Last</td><td>Row</td></tr></tbody></table>"))
    boxes = {word: (x0, y0) for word, x0, y0, _x1, _y1 in words_with_boxes(backend.render(html, METADATA).content)}
    product, amount = boxes["Product"][0], boxes["Amount"][0]
    assert abs(boxes["Flood"][0] - product) < 2 and abs(boxes["Twenty"][0] - amount) < 2
    assert abs(boxes["Fire"][1] - boxes["North"][1]) < 2 and boxes["Flood"][1] > boxes["Fire"][1]
    assert abs(boxes["Thirty"][0] - amount) < 2 and abs(boxes["Total"][0] - boxes["Region"][0]) < 2
    # A rowspan past the table's end is cut to it, not an error.
    assert abs(boxes["Row"][0] - amount) < 2


@pytest.mark.parametrize("kind", ["table", "list"])
def test_a_table_row_or_a_list_item_is_not_cut(backend, standard_layout, kind):
    if kind == "table":
        rows = "".join(f"<tr><td>{six_lines(row)}</td><td>{row}</td></tr>" for row in range(1, 9))
        block = f"<table><tbody>{rows}</tbody></table>"
    else:
        block = "<ul>" + "".join(f"<li>{six_lines(row)}</li>" for row in range(1, 9)) + "</ul>"
    for paragraphs in range(18, 30):
        body = "".join(f"<p>Paragraph {n}.</p>" for n in range(paragraphs)) + block
        html = render_letter_document(layout=standard_layout, recipient_lines=["Ada"], body_html=body + "<p>End.</p>")
        rendered = backend.render(html, METADATA, page=PageSetup.for_layout(standard_layout))
        pages = pdf_text(rendered.content).split("\f")
        for row in range(1, 9):
            holding = [number for number, text in enumerate(pages) if f"Row {row} line" in text]
            assert len(holding) == 1, (paragraphs, row, holding)


@pytest.mark.parametrize("kind", ["table", "list"])
def test_a_row_or_an_item_longer_than_a_page_breaks_rather_than_run_off_it(backend, kind):
    lines = "<br>".join(f"Line {n}" for n in range(1, 121))
    short = "<br>".join(f"Short {n}" for n in range(1, 4))
    block = (f"<table><tr><td>{short}</td><td>x</td></tr><tr><td>{lines}</td><td>y</td></tr></table>" if kind == "table"
             else f"<ul><li>{short}</li><li>{lines}</li></ul>")
    html = f"<html><body><div class='letter-body'><p>Start</p>{block}<p>End</p></div></body></html>"
    rendered = backend.render(html, METADATA, page=PageSetup())
    text = pdf_text(rendered.content)
    assert rendered.pages == 3 and [n for n in range(1, 121) if f"Line {n}\n" not in text] == []


def test_a_page_break_block_starts_a_new_page(backend, standard_layout):
    html = render_letter_document(layout=standard_layout, recipient_lines=["Ada"], body_html=(
        '<p>Before the break.</p><div class="page-break"></div><p>After the break.</p><p>End.</p>'))
    rendered = backend.render(html, METADATA, page=PageSetup.for_layout(standard_layout))
    assert rendered.pages == 2
    assert "After the break." in pdf_text(rendered.content, "-f", "2", "-l", "2")


# Customer data is text -------------------------------------------------------------------

HOSTILE = [
    '#read("/etc/passwd")', '#import "@preview/cetz:0.3.0"', "]", "[", "\\", '"', "$x$", "@ref", "<label>",
    "*bold*", "_x_", "// comment", "/* x", "#set page(width: 1mm)", "= Heading", "😀 party 🎉",
    "שלום עליכם", "مرحبا بكم", '"] #set page(width: 1mm) #["', "\\u{41}", "#{1 + 1}", "`raw`", "~", "---",
    "- not a list", "+ not an enum", "#pagebreak()", "& < > &amp;",
]


EMOJI_OR_RTL = re.compile("[\U0001f000-\U0001faff\u0590-\u08ff]")


def squash(text):
    return re.sub(r"\s+", "", text)


@pytest.fixture
def hostile_template(customer_dictionary, layout):
    return rich_letter_template(customer_dictionary, layout)


def with_first_name(value):
    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["customer"]["first_name"] = value
    data["customer"]["full_name"] = value + " Peeters"
    return data


def without(text, value):
    return squash(text).replace("Ada", "").replace(squash(value), "")


def test_customer_data_in_typst_syntax_prints_verbatim_and_changes_nothing_else(backend, hostile_template):
    plain = render(backend, assembled(hostile_template, with_first_name("Ada")))
    plain_texts = [words(pdf_text(plain.content)), words(pdf_text(plain.content, "-raw"))]
    for value in HOSTILE:
        rendered = render(backend, assembled(hostile_template, with_first_name(value)))
        # pdftotext's reading order puts an emoji (drawn as a picture, taller) on a line of its
        # own, and the order in which text is drawn has right-to-left words reversed: the value
        # must come back whole in one of the two. pdftotext also guesses spaces from gaps, and
        # misses the one after an emoji.
        texts = [words(pdf_text(rendered.content)), words(pdf_text(rendered.content, "-raw"))]
        assert any(squash(f"Dear {value},") in squash(text) for text in texts), value
        assert any(squash(f"{value} Peeters") in squash(text) for text in texts), value
        if not EMOJI_OR_RTL.search(value):  # spaces and word order exact
            assert any(f"Dear {value}," in text and f"{value} Peeters" in text for text in texts), value
        assert rendered.pages == plain.pages == 1, value
        # Everything else as printed for an ordinary name.
        assert any(without(text, value) == without(plain_text, value)
                   for text, plain_text in zip(texts, plain_texts)), value
        assert "root:x:0" not in texts[0]


def test_agent_text_and_a_document_title_in_typst_syntax_are_text(backend, hostile_template, customer_dictionary,
                                                                  layout):
    slot = ("agent_slot", {"name": "note", "label": "Note", "help": "", "required": False, "max_length": 500,
                           "default_text": ""})
    template = factories.letter_template(customer_dictionary, layout, [], body=factories.template_body(slot))
    note = '#read("/etc/passwd") ] [ #set page(width: 1mm)\n= Heading'
    letter = assembled(template, slots={"note": note})
    metadata = PdfMetadata(title='#read("/etc/passwd") "] x', subject="OUT-1", author="A \\ B", created=CREATED)
    rendered = render(backend, letter, metadata)
    assert words(note) in words(pdf_text(rendered.content))
    info = docinfo(rendered.content)
    assert info["/Title"] == '#read("/etc/passwd") "] x' and info["/Author"] == "A \\ B"


def test_strings_are_the_only_way_text_reaches_the_source():
    source = translate('<html lang="en"><body><p>a"b\\c\x01#x]</p></body></html>', page=PageSetup()).source
    assert '#"a\\"b\\\\c#x]"' in source  # the control character is dropped: no font draws it
    assert typst_string("\x01\n\u2028") == '"\\u{1}\\u{a}\\u{2028}"'


FUZZ = settings(max_examples=150, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@FUZZ
@given(st.text(max_size=80))
def test_any_text_compiles_and_comes_back(backend, text):
    """Text straight into a document (escaped as the templates escape it): Typst never fails
    and prints the text (whitespace and characters no font has aside)."""
    rendered = backend.render(fuzz_document(text), METADATA, page=PageSetup())
    printed = words(pdf_text(rendered.content))
    # Letters, digits and signs of the Latin, Greek and Cyrillic alphabets come back as they
    # are; marks that combine with them, other scripts (shaped, reordered) and characters no
    # font has are left out of the comparison.
    expected = "".join(char if ord(char) < 0x0530 and unicodedata.category(char)[0] in "LNPS"
                       and unicodedata.category(char) not in ("Lm", "Sk") else " " for char in text)
    for word in expected.split():
        assert word in printed, (word, printed)


NESTED = [("<strong>", "</strong>"), ("<div>", "</div>"), ("<ul><li>", "</li></ul>"),
          ("<table><tr><td>", "</td></tr></table>")]


@pytest.mark.parametrize("open_tag, close_tag", NESTED)
def test_deeply_nested_content_prints_its_text(backend, open_tag, close_tag):
    """Typst limits how deep source and styles nest, Python its recursion: past a depth, an
    element's text is printed without its markup."""
    html = f"<html><body>{open_tag * 1500}Deep text{close_tag * 1500}<p>After</p></body></html>"
    rendered = backend.render(html, METADATA, page=PageSetup())
    assert "Deep text" in pdf_text(rendered.content) and "After" in pdf_text(rendered.content)


def fuzz_document(text):
    from django.utils.html import escape

    return f'<!DOCTYPE html><html lang="en"><body><div class="letter-body"><p>{escape(text)}</p></div></body></html>'


@FUZZ
@given(st.text(alphabet=st.characters(max_codepoint=0x2ff), max_size=80))
def test_text_of_the_fonts_alphabets_stays_pdfa(backend, text):
    """Latin text with any control characters in it: they are dropped (no font draws them),
    so the letter stays PDF/A rather than falling back to a plain PDF."""
    rendered = backend.render(fuzz_document(text), METADATA, page=PageSetup())
    with pikepdf.open(io.BytesIO(rendered.content)) as pdf, pdf.open_metadata() as xmp:
        assert xmp["pdfaid:part"] == "2", repr(text)


# Isolation -------------------------------------------------------------------------------


def test_images_from_files_or_the_network_are_refused(backend, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(get_test_image_file().file.getvalue())
    png = base64.b64encode(get_test_image_file(colour="red").file.getvalue()).decode()
    html = f"""<!DOCTYPE html><html lang="en"><body><div class="letter-body">
      <p>Visible text</p>
      <figure class="image align-left"><img src="file:///etc/passwd" alt="passwd"></figure>
      <img src="file://{secret}" alt="secret"><img src="http://127.0.0.1:9/pixel.png" alt="net">
      <img src="/etc/passwd" alt="rooted"><img src="../../etc/passwd"><img src="data:text/plain;base64,aGk=">
      <img src="data:image/png;base64,{png}" alt="A red square">
    </div></body></html>"""
    rendered = backend.render(html, METADATA, page=PageSetup())
    assert rendered.refused_urls[:5] == ["file:///etc/passwd", f"file://{secret}", "http://127.0.0.1:9/pixel.png",
                                         "/etc/passwd", "../../etc/passwd"]
    assert rendered.refused_urls[5].startswith("data:text/plain")
    path = tmp_path / "letter.pdf"
    path.write_bytes(rendered.content)
    listing = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, check=True, text=True).stdout
    kinds = [line.split()[2] for line in listing.splitlines()[2:] if line.strip()]  # after two header lines
    assert kinds.count("image") == 1, listing  # the data: image only
    assert "root:x:0" not in pdf_text(rendered.content)


def test_the_source_refers_to_no_file_but_the_letters_images(backend):
    document = translate(
        '<html><body><img src="data:image/png;base64,'
        + base64.b64encode(get_test_image_file().file.getvalue()).decode()
        + '" alt="#read(&quot;/etc/passwd&quot;)"><p>#image("/etc/passwd")</p></body></html>', page=None)
    assert list(document.images.files) == [re.search(r'image\("/([^"]+)"', document.source).group(1)]
    assert 'alt: "#read(\\"/etc/passwd\\")"' in document.source
    assert document.source.count("image(") == 2  # the image, and the text #"#image(...)"


def alt_texts(content):
    """Every /Alt in the structure tree."""
    found = []
    with pikepdf.open(io.BytesIO(content)) as pdf:
        stack, seen = [pdf.Root.StructTreeRoot], set()
        while stack:
            node = stack.pop()
            if isinstance(node, pikepdf.Array):
                stack.extend(node)
            elif isinstance(node, pikepdf.Dictionary):
                if node.objgen != (0, 0):
                    if node.objgen in seen:
                        continue
                    seen.add(node.objgen)
                if "/Alt" in node:
                    found.append(str(node.Alt))
                if "/K" in node:
                    stack.append(node.K)
    return found


def test_the_image_library_s_images_are_embedded_with_their_alt_text(backend, customer_dictionary):
    from wagtail.images.models import Image

    logo = Image.objects.create(title="Logo", file=get_test_image_file(colour="red"))
    office = Image.objects.create(title="Office", file=get_test_image_file(colour="blue"))
    layout = factories.layout(name="With logo", logo=logo)
    fragment = factories.fragment(customer_dictionary, key="pictured", body=factories.fragment_body(
        factories.rich_text("<p>Our new office:</p>"),
        ("image", {"image": office, "alt_text": 'The "office" #at night', "width_mm": 40, "alignment": "center"})))
    letter = assembled(factories.letter_template(customer_dictionary, layout, [fragment]))
    rendered = render(backend, letter)
    assert rendered.refused_urls == []
    with pikepdf.open(io.BytesIO(rendered.content)) as pdf:
        assert len(pdf.pages) == 1 and len(pdf.pages[0].Resources.XObject.keys()) == 2  # the logo and the image
    boxes = {word: (x0, y0) for word, x0, y0, _x1, _y1 in words_with_boxes(rendered.content)}
    assert boxes["Our"][1] < 150 * MM  # the logo, placed at the top, pushes no text down
    assert 'The "office" #at night' in alt_texts(rendered.content)


def logo_box(content, dpi=72):
    """(left, top, right, bottom) in millimetres of the red logo on the first page."""
    from PIL import Image

    png = subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", "1", "-l", "1", "-singlefile", "-"], input=content,
                         capture_output=True, check=True).stdout
    with Image.open(io.BytesIO(png)) as page:
        page = page.convert("RGB")
        red = [(x, y) for x in range(page.width) for y in range(page.height)
               if (lambda r, g, b: r > 200 and g < 80 and b < 80)(*page.getpixel((x, y)))]
    scale = 25.4 / dpi
    xs, ys = [x for x, _y in red], [y for _x, y in red]
    return min(xs) * scale, min(ys) * scale, (max(xs) + 1) * scale, (max(ys) + 1) * scale


@pytest.mark.parametrize("engine", ["typst", "weasyprint"])
@pytest.mark.parametrize("window, position", [("left", "left"), ("left", "right"), ("none", "left")])
def test_the_logo_sits_above_the_address_window_in_its_proportions(engine, window, position, customer_dictionary):
    """A square logo 40 mm wide by the layout would cover the sender line and the address: it
    is kept in the band between the top margin and the window, at its own proportions, on its
    side, by both engines alike."""
    from django.core.cache import caches
    from wagtail.images.models import Image

    from wagtail_correspondence.rendering.pdf import WeasyPrintBackend

    for cache in caches.all():  # renditions of an earlier test's image with the same id
        cache.clear()
    logo = Image.objects.create(title="Logo", file=get_test_image_file(colour="red", size=(300, 300)))
    layout = factories.layout(name=f"Logo {window} {position}", logo=logo, logo_width=40, logo_position=position,
                              address_window=window, margin_top=25, window_top=45, margin_left=25, margin_right=20)
    fragment = factories.fragment(customer_dictionary, key="plain", html="<p>Dear {{ customer.first_name }},</p>")
    letter = assembled(factories.letter_template(customer_dictionary, layout, [fragment]))
    chosen = TypstBackend() if engine == "typst" else WeasyPrintBackend()
    rendered = render(chosen, letter)
    left, top, right, bottom = logo_box(rendered.content)
    width, height = right - left, bottom - top
    assert abs(width - height) < 1.5  # square stays square
    assert top == pytest.approx(25, abs=1.5)  # at the top of the first page's text area
    if window == "none":
        assert height == pytest.approx(25, abs=1.5)  # at most 25 mm tall, above the letter
        boxes = {word: y0 for word, _x0, y0, _x1, _y1 in words_with_boxes(rendered.content)}
        assert boxes["Reference"] > bottom * MM  # the letter starts below it
    else:
        assert height == pytest.approx(45 - 25 - 3, abs=1.5) and bottom < 45  # above the window
    if position == "left":
        assert left == pytest.approx(25, abs=1.5)
    else:
        assert right == pytest.approx(210 - 20, abs=1.5)


# The PDF itself --------------------------------------------------------------------------


def test_pdfa_2b_tagged_with_title_and_language(backend, customer_dictionary, layout):
    letter = assembled(rich_letter_template(customer_dictionary, layout))
    rendered = render(backend, letter)
    pdf = pikepdf.open(io.BytesIO(rendered.content))
    with pdf.open_metadata() as xmp:
        assert xmp["pdfaid:part"] == "2" and xmp["pdfaid:conformance"] == "B"
        assert xmp["pdfuaid:part"] == "1"  # and PDF/UA-1: accessible to screen readers
    root = pdf.Root
    assert "/StructTreeRoot" in root and str(root.Lang) == "en"
    assert root.MarkInfo.Marked is True
    assert str(pdf.docinfo["/Title"]) == "Your account C-1001"
    assert str(pdf.docinfo["/Subject"]) == "OUT-2026-000042" and str(pdf.docinfo["/Author"]) == "Northwind Mutual"
    assert str(pdf.docinfo["/CreationDate"]).startswith("D:20260304103000")


def structure_tags(content):
    """The structure tree's element types, in reading order."""
    tags = []

    def walk(node):
        if isinstance(node, pikepdf.Array):
            for child in node:
                walk(child)
        elif isinstance(node, pikepdf.Dictionary):
            if "/S" in node:
                tags.append(str(node.S))
            if "/K" in node:
                walk(node.K)

    with pikepdf.open(io.BytesIO(content)) as pdf:
        walk(pdf.Root.StructTreeRoot)
    return tags


def test_headings_are_structured_from_level_1_without_gaps_for_pdf_ua(backend):
    # Authors start fragments at h2 or h3 and skip levels; PDF/UA-1 refuses both. The structure
    # counts from the first heading and never skips; the printed sizes stay the tags'.
    html = render_letter_document(layout=None, title="Headings", body_html=(
        "<h3>Alpha</h3><p>One</p><h2>Beta</h2><h4>Gamma</h4><h6>Delta</h6>"))
    rendered = backend.render(html, METADATA)
    assert [tag for tag in structure_tags(rendered.content) if tag.startswith("/H")] == ["/H1", "/H1", "/H2", "/H3"]
    document = translate(html, page=None, title="Headings")
    assert "#text(size: 1.17em)" in document.source and "#text(size: 0.67em)" in document.source


def test_an_image_without_alt_text_is_decoration_not_an_unnamed_figure(backend, customer_dictionary):
    from wagtail.images.models import Image

    layout = factories.layout(name="Logo only", logo=Image.objects.create(title="Logo", file=get_test_image_file()))
    rendered = render(backend, assembled(factories.letter_template(customer_dictionary, layout,
                                                                   [factories.fragment(customer_dictionary)])))
    assert "/Figure" not in structure_tags(rendered.content)  # the logo (alt="") is an artifact
    with pikepdf.open(io.BytesIO(rendered.content)) as pdf, pdf.open_metadata() as xmp:
        assert xmp["pdfuaid:part"] == "1"


def test_the_language_comes_from_the_document(backend, customer_dictionary, layout):
    html = render_letter_document(layout=layout, body_html="<p>Bonjour</p>", language="fr")
    assert '<html lang="fr">' in html
    with pikepdf.open(io.BytesIO(backend.render(html, METADATA, page=PageSetup()).content)) as pdf:
        assert str(pdf.Root.Lang) == "fr"


def test_pdfa_3b_when_the_setting_asks(backend, customer_dictionary, layout):
    letter = assembled(rich_letter_template(customer_dictionary, layout))
    content = backend.render(letter.html, METADATA, page=PageSetup(), variant="pdf/a-3b").content
    with pikepdf.open(io.BytesIO(content)) as pdf, pdf.open_metadata() as xmp:
        assert xmp["pdfaid:part"] == "3"


def test_a_letter_no_font_can_draw_is_still_printed_without_pdfa(backend, caplog):
    html = '<html lang="en"><body><p>Party 🎉 time, hieroglyph 𓀀 here</p></body></html>'
    rendered = backend.render(html, METADATA, page=PageSetup())
    text = words(pdf_text(rendered.content, "-raw"))
    assert squash("Party 🎉 time, hieroglyph") in squash(text) and "here" in text  # the 𓀀 is lost
    with pikepdf.open(io.BytesIO(rendered.content)) as pdf, pdf.open_metadata() as xmp:
        assert xmp.get("pdfaid:part") is None and "/StructTreeRoot" in pdf.Root  # tagged, not PDF/A
    assert "is not a-2b" in caplog.text
    emoji_only = backend.render(html.replace("𓀀", ""), METADATA, page=PageSetup())
    with pikepdf.open(io.BytesIO(emoji_only.content)) as pdf, pdf.open_metadata() as xmp:
        assert xmp["pdfaid:part"] == "2"  # emoji have a font


def test_a_stored_letter_renders_to_the_same_bytes(typst_setting, agent, one_customer, customer_dictionary,
                                                   layout, backend):
    from wagtail.images.models import Image

    layout.logo = Image.objects.create(title="Logo", file=get_test_image_file(colour="red"))
    layout.save_revision().publish()
    template = rich_letter_template(customer_dictionary, layout)
    letter = service.generate_letter(agent, service.LetterRequest(template=template, customer_id="C-1001"))
    assert letter.html.count('src="data:image/') == 1
    metadata = PdfMetadata(title=letter.subject, subject=letter.reference, author="Northwind Mutual",
                           created=letter.generated_at)
    first = backend.render(letter.html, metadata, page=PageSetup.for_layout(layout))
    time.sleep(1.1)  # a clock read anywhere would now read another second
    second = TypstBackend().render(letter.html, metadata, page=PageSetup.for_layout(layout))
    assert first.content == second.content and first.refused_urls == []
    with letter.pdf.open("rb") as handle:
        assert handle.read() == first.content  # as generated, byte for byte


def test_an_older_stored_document_without_layout_data_takes_it_from_its_style_sheet(backend, customer_dictionary, db):
    layout = factories.layout(name="Right", address_window="right", window_top=55, window_side=40, window_width=70,
                              window_height=35, show_page_numbers=False, font_family="Liberation Serif")
    letter = assembled(rich_letter_template(customer_dictionary, layout))
    older = re.sub(r"<body [^>]*>", "<body>", letter.html)
    assert "data-window" not in older
    now, before = (backend.render(html, METADATA, page=PageSetup.for_layout(layout)) for html in (letter.html, older))
    assert now.content == before.content  # the same geometry, read from the CSS
    text = pdf_text(before.content, "-layout")
    assert "Ada Peeters" in text and "Dear Ada," in text and "Page 1 of 1" not in text


# Choosing the backend --------------------------------------------------------------------


def test_the_setting_selects_typst_for_the_preview_and_the_generated_letter(typst_setting, agent, one_customer,
                                                                            customer_dictionary, layout):
    assert isinstance(get_pdf_backend(), TypstBackend)
    template = rich_letter_template(customer_dictionary, layout)
    request = service.LetterRequest(template=template, customer_id="C-1001")
    preview = service.preview_pdf(agent, request)
    assert docinfo(preview.content)["/Creator"].startswith("Typst")
    assert "Dear Ada," in pdf_text(preview.content)
    letter = service.generate_letter(agent, request)
    with letter.pdf.open("rb") as handle:
        content = handle.read()
    assert docinfo(content)["/Creator"].startswith("Typst")
    assert letter.reference in pdf_text(content)


def test_render_pdf_with_the_default_setting_is_typst(letter_html=None):
    assert get_pdf_backend().name == "typst"
    assert render_pdf  # the interface the services call


@pytest.mark.parametrize("title", ["Statement", "/Type/Pages/Count 7", "/Type /Pages /Count 1"])
def test_the_page_count_is_read_from_the_page_tree_whatever_the_text(backend, title):
    """The page count comes from the PDF's page tree (a shortcut for Typst's own), never from
    text that looks like one: the count agrees with pikepdf's for 1 to 3 pages."""
    for lines, pages in ((3, 1), (60, 2), (120, 3)):
        body = "<br>".join(f"{title} line {n}" for n in range(1, lines + 1))
        html = f"<html><body><div class='letter-body'><p>{body}</p></div></body></html>"
        rendered = backend.render(html, PdfMetadata(title=title, subject=title), page=PageSetup())
        with pikepdf.open(io.BytesIO(rendered.content)) as pdf:
            assert rendered.pages == len(pdf.pages) == pages, (title, lines)
