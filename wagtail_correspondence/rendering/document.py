"""The printable letter document: layout (paper, letterhead, window) around a rendered body.

Paged-media CSS (``@page``, running header/footer, ``counter(pages)``) is understood by
WeasyPrint; a browser shows the same document as one long page.
"""

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from wagtail.rich_text import expand_db_html

from .fragments import default_image_src
from .frames import Frame, cached_frame, marker, text
from .page_numbers import PAGE, PAGES, page_number_parts
from .richtext import clean_static_html


WK_SCALE = 0.75  # the inverse of the zoom applied to documents printed by wkhtmltopdf

# Where pages may break (WeasyPrint's paged media; wkhtmltopdf honours the page-break-*
# forms on block elements and table rows). Paragraphs keep three lines at the foot and at the
# head of a page; headings stay with what follows; a table row, a list item or an image is
# never cut; a table's header repeats on each page. A letter ends with its closing ("Kind
# regards,"), the signature and perhaps a notice: the body's last three blocks stay with the
# block before them (keep with previous), so the ending never starts a page alone, without
# any of the letter's text. The body is a flat run of the fragments' blocks, so "the last
# three" needs no marking by authors.
PAGINATION_CSS = """
  .letter-body p, .letter-body li, .letter-body blockquote { orphans: 3; widows: 3; }
  .letter-body h1, .letter-body h2, .letter-body h3, .letter-body h4, .letter-body h5, .letter-body h6,
  .letter-subject { break-after: avoid; page-break-after: avoid; }
  .letter-body tr, .letter-body li, .letter-body figure, .letter-body img { break-inside: avoid; page-break-inside: avoid; }
  .letter-body thead { display: table-header-group; }
  .letter-body > :nth-last-child(-n+3) { break-before: avoid; page-break-before: avoid; }
"""


def _css_string(text):
    """A CSS string literal for ``content:``, inside the document's <style> element: every
    character that could end the string, the rule or the element (quotes, backslashes, line
    breaks, ``<`` of ``</style>``, ``>``, ``&``) is written as a CSS escape."""
    text = text.replace("\n", " ")
    return '"' + "".join(f"\\{ord(char):x} " if char in _CSS_UNSAFE or ord(char) < 32 else char for char in text) + '"'


_CSS_UNSAFE = frozenset('\\"\'<>&')


def page_number_content(template):
    counters = {PAGE: "counter(page)", PAGES: "counter(pages)"}
    return " ".join(counters.get(part) or _css_string(part) for part in page_number_parts(template)) or '""'


def render_letter_document(*, layout, body_html, recipient_lines=(), title="", subject="", meta_lines=(),
                           language="en", image_src=default_image_src, author="", reference="", created=None):
    """The print document. ``author``, ``reference`` and ``created`` become the PDF's author,
    subject and dates (WeasyPrint reads them from the <meta> elements)."""
    width, height = layout.sheet_size if layout else (210, 297)
    context = {
        "layout": layout,
        "title": title,
        "author": author,
        "reference": reference,
        "created": created.isoformat(timespec="seconds") if created else "",
        "subject": subject,
        "language": language,
        "body_html": mark_safe(body_html),
        "recipient_lines": list(recipient_lines),
        "meta_lines": list(meta_lines),
        "sheet_width": width,
        "sheet_height": height,
        "header_html": mark_safe(clean_static_html(expand_db_html(layout.header))) if layout and layout.header else "",
        "footer_html": mark_safe(clean_static_html(expand_db_html(layout.footer))) if layout and layout.footer else "",
        "logo_src": image_src(layout.logo) if layout and layout.logo_id else "",
        "page_number_content": mark_safe(page_number_content(layout.page_number_text)) if layout else "",
        "pagination_css": mark_safe(PAGINATION_CSS),
    }
    if layout is not None:
        context["logo_side"] = "right" if layout.logo_position == "right" else "left"
        context["logo_side_margin"] = layout.margin_right if context["logo_side"] == "right" else layout.margin_left
        context["logo_max_height"] = layout.logo_max_height
        # Positions inside the page margins for wkhtmltopdf, which lays the page out at 96 dpi
        # and prints it at 72: the document is zoomed by 4/3, so positions shrink by 3/4.
        side_margin = layout.margin_right if layout.address_window == "right" else layout.margin_left
        context["wk_window_top"] = round(max(layout.window_top - layout.margin_top, 0) * WK_SCALE, 2)
        context["wk_window_side"] = round(max(layout.window_side - side_margin, 0) * WK_SCALE, 2)
        context["wk_after_window"] = round(
            max(layout.window_top + layout.window_height + 5 - layout.margin_top, 0) * WK_SCALE, 2)
    return mark_safe(render_to_string("wagtail_correspondence/letter/document.html", context))


_DOCUMENT_NAMES = ("title", "subject", "recipient", "body", "reference", "created")


def framed_letter_document(*, layout, body_html, recipient_lines=(), title="", subject="", meta_lines=(),
                           language="en", image_src=default_image_src, author="", reference="", created=None):
    """``render_letter_document``, byte for byte, from a frame kept with ``layout`` (see
    ``frames.py``). Only for a layout that never changes once built: a revision's."""
    labels = tuple(str(label) for label, _value in meta_lines)
    names = (*_DOCUMENT_NAMES, *(f"meta_{index}" for index in range(len(labels))))

    def build():
        return Frame.from_rendered(str(render_letter_document(
            layout=layout, body_html=marker("body"), recipient_lines=[marker("recipient")], title=marker("title"),
            subject=mark_safe(marker("subject")) if subject else "",
            meta_lines=[(label, marker(f"meta_{index}")) for index, label in enumerate(labels)],
            language=language, image_src=image_src, author=author, reference=marker("reference") if reference else "",
            created=_Marked(marker("created")) if created else None)), names)

    key = ("document", language, image_src, author, bool(reference), bool(created), bool(subject), labels)
    frame = cached_frame(layout, key, build)
    if frame is None:
        return render_letter_document(
            layout=layout, body_html=body_html, recipient_lines=recipient_lines, title=title, subject=subject,
            meta_lines=meta_lines, language=language, image_src=image_src, author=author, reference=reference,
            created=created)
    values = {"title": text(title), "subject": text(subject), "body": text(mark_safe(body_html)),
              "recipient": "<br>".join(text(line) for line in recipient_lines), "reference": text(reference),
              "created": text(created.isoformat(timespec="seconds")) if created else ""}
    values.update((f"meta_{index}", text(value)) for index, (_label, value) in enumerate(meta_lines))
    return mark_safe(frame.fill(values))


class _Marked:
    """Stands for the letter's creation time while a frame is rendered."""

    def __init__(self, text):
        self.text = text

    def isoformat(self, timespec="seconds"):
        return self.text
