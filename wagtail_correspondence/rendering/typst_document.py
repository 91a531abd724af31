"""The letter's print document (HTML, the stored record) translated to Typst source.

The translation knows the parts of ``letter/document.html`` by their classes (letterhead
header and footer, logo, address window with sender and recipient, reference block, subject,
body) and the HTML subset that letter bodies are made of (paragraphs, line breaks, bold,
italic, underline, lists, headings, tables, images in figures, page breaks, missing-field
marks, render-problem boxes). Anything else contributes its text only.

Customer data never becomes Typst markup: every text node and every attribute value that is
printed (an image's alt text) is written as a Typst string literal (``#"..."``), with ``\\``
and ``"`` escaped and control characters written as ``\\u{...}``. Attribute values that
steer the layout are parsed as numbers or matched against fixed lists; none is copied into
the source. Images are decoded from ``data:`` URIs into files of the per-render root, under
names made here; every other address is refused and listed.

Layout geometry comes from the ``data-*`` attributes of the document's ``<body>``; documents
stored before they existed get the layout model's defaults.
"""

import base64
import datetime
import hashlib
import io
import re
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser

from .page_numbers import PAGE, PAGES, page_number_parts

# Headings' sizes by HTML tag, as the print document's CSS has them.
HEADING_SIZES = {1: "1.5em", 2: "1.3em", 3: "1.17em", 4: "1em", 5: "0.83em", 6: "0.67em"}
# Elements whose content is never printed.
SKIPPED = frozenset({"head", "script", "style", "template", "noscript", "title", "iframe", "object", "embed",
                     "video", "audio", "svg", "canvas"})
VOID = frozenset({"br", "img", "hr", "meta", "link", "input", "source", "wbr", "col", "area", "base", "embed",
                  "param", "track"})
BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table", "figure", "blockquote",
                    "address", "dl", "dt", "dd", "hr", "section", "article", "header", "footer", "main", "nav", "aside",
                    "pre", "form", "body", "html", "figcaption", "caption", "fieldset", "details", "summary",
                    "thead", "tbody", "tfoot", "tr", "td", "th"})
# Opening one of these closes an open <p> (HTML's implied end tag).
CLOSES_P = BLOCKS - {"td", "th", "tr", "thead", "tbody", "tfoot", "dt", "dd", "li", "caption", "figcaption"}

# Fonts the layouts offer, each with a fallback installed beside it (scripts/install-system-deps.sh).
FONTS = {
    "DejaVu Sans": ("DejaVu Sans",),
    "DejaVu Serif": ("DejaVu Serif", "DejaVu Sans"),
    "Liberation Sans": ("Liberation Sans", "DejaVu Sans"),
    "Liberation Serif": ("Liberation Serif", "DejaVu Serif", "DejaVu Sans"),
}
DEFAULT_FONT = "DejaVu Sans"
# Emoji, where fonts-noto-color-emoji is installed: without a font for a character, a letter
# cannot be PDF/A (see TypstBackend).
FALLBACK_FONTS = ("Noto Color Emoji",)

# Raster formats Typst decodes, by their first bytes. SVG is not taken: an SVG can refer to
# other files, and it is not what the image library's renditions produce.
IMAGE_MAGIC = {"png": (b"\x89PNG\r\n\x1a\n",), "jpg": (b"\xff\xd8\xff",), "gif": (b"GIF87a", b"GIF89a"),
               "webp": (b"RIFF",)}
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/jpg": "jpg", "image/gif": "gif", "image/webp": "webp"}

# Elements nested deeper than this print their text only: Typst limits how deep its source and
# its styles may nest (and so does Python's recursion).
MAX_DEPTH = 12
_SPACE = re.compile(r"[ \t\n\r\f]+")
# Characters no font draws: C0 and C1 controls (whitespace aside), DEL, surrogates and
# noncharacters. WeasyPrint prints nothing for them either.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
_NONCHARACTER = re.compile("[\U0001fffe\U0001ffff\U0002fffe\U0002ffff\U0003fffe\U0003ffff\U0004fffe\U0004ffff"
                           "\U0005fffe\U0005ffff\U0006fffe\U0006ffff\U0007fffe\U0007ffff\U0008fffe\U0008ffff"
                           "\U0009fffe\U0009ffff\U000afffe\U000affff\U000bfffe\U000bffff\U000cfffe\U000cffff"
                           "\U000dfffe\U000dffff\U000efffe\U000effff\U000ffffe\U000fffff\U0010fffe\U0010ffff]")
_LANG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_]([a-zA-Z]{2}))?(?:[-_].*)?$")
_WIDTH_MM = re.compile(r"(?:^|;)\s*width\s*:\s*(\d{1,4}(?:\.\d{1,3})?)\s*mm\s*(?:;|$)")


def typst_string(text):
    """A Typst string literal holding ``text`` exactly: the only way text reaches the source."""
    out = ['"']
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif ord(char) < 32 or 0x7f <= ord(char) <= 0x9f or char in "\u2028\u2029":
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def printable(text):
    return _NONCHARACTER.sub("", _UNPRINTABLE.sub("", text))


def _number(value, default, low=0.0, high=2000.0):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    if number != number or not low <= number <= high:  # NaN or out of range
        return default
    return number


def _mm(value):
    return f"{round(value, 3)}mm"


# HTML → tree ----------------------------------------------------------------------------


class Node:
    __slots__ = ("tag", "attrs", "children")

    def __init__(self, tag, attrs=None):
        self.tag = tag
        self.attrs = attrs or {}
        self.children = []

    @property
    def classes(self):
        return frozenset(self.attrs.get("class", "").split())

    def descendants(self):
        """Every node below this one, in document order (without recursion: HTML nests deep)."""
        stack = list(reversed(self.children))
        while stack:
            node = stack.pop()
            yield node
            if isinstance(node, Node):
                stack.extend(reversed(node.children))

    def find(self, tag):
        return next((node for node in self.descendants() if isinstance(node, Node) and node.tag == tag), None)

    def has_block(self):
        return any(isinstance(node, Node) and node.tag in BLOCKS for node in self.descendants())

    def text(self):
        """The text of the subtree, the never-shown elements left out."""
        out, stack = [], [self]
        while stack:
            node = stack.pop()
            if isinstance(node, str):
                out.append(node)
            elif node.tag not in SKIPPED:
                stack.extend(reversed(node.children))
        return "".join(out)


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root")
        self.stack = [self.root]

    def _close(self, tag, stop=frozenset()):
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return
            if self.stack[index].tag in stop:
                return

    def handle_starttag(self, tag, attrs):
        if tag in CLOSES_P:
            self._close("p", stop={"div", "td", "th", "li", "blockquote", "table", "figure"})
        if tag == "li":
            self._close("li", stop={"ul", "ol"})
        elif tag in ("td", "th"):
            self._close("td", stop={"tr", "table"})
            self._close("th", stop={"tr", "table"})
        elif tag == "tr":
            self._close("tr", stop={"table", "thead", "tbody", "tfoot"})
        elif tag in ("dt", "dd"):
            self._close("dt", stop={"dl"})
            self._close("dd", stop={"dl"})
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag):
        if any(node.tag == tag for node in self.stack[1:]):
            self._close(tag)

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse_html(html):
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


# The layout ------------------------------------------------------------------------------


@dataclass
class Geometry:
    """Everything about the page that is not in PageSetup, in millimetres and points."""

    window: str = "left"  # "left", "right" or "none"
    window_top: float = 45
    window_side: float = 20
    window_width: float = 85
    window_height: float = 45
    logo_width: float = 40
    logo_max_height: float = 25
    logo_position: str = "left"
    font_family: str = DEFAULT_FONT
    font_size: float = 10.5
    page_numbers: bool = True
    page_number_text: str = "Page {page} of {pages}"
    # The sheet and margins, for documents rendered without a PageSetup.
    sheet: tuple = None
    margins: tuple = None

    @classmethod
    def from_css(cls, css):
        """A document stored before the data-* attributes: the numbers of its own style sheet
        (as document.html wrote it), else the layout model's defaults. Numbers only."""
        geometry = cls()

        def number(pattern, default):
            match = re.search(pattern, css)
            return _number(match.group(1), default) if match else default

        window = re.search(r"\.letter-window\s*\{\s*position:\s*absolute;([^}]*)\}", css)
        if window is None:
            geometry.window = "none"
        else:
            rule = window.group(1)
            geometry.window = "right" if re.search(r"(?:^|[\s;])right:", rule) else "left"
            geometry.window_top = number(r"\.letter-window\s*\{[^}]*?\btop:\s*([\d.]+)mm", geometry.window_top)
            geometry.window_width = _number((re.search(r"\bwidth:\s*([\d.]+)mm", rule) or [0, None])[1], 85)
            geometry.window_height = _number((re.search(r"\bheight:\s*([\d.]+)mm", rule) or [0, None])[1], 45)
            geometry.window_side = _number(
                (re.search(r"(?:^|[\s;])(?:left|right):\s*([\d.]+)mm", rule) or [0, None])[1], 20)
        geometry.logo_width = number(r"\.letter-logo\s*\{\s*width:\s*([\d.]+)mm", geometry.logo_width)
        if re.search(r"\.letter-logo\s*\{[^}]*float:\s*right", css):
            geometry.logo_position = "right"
        geometry.font_size = number(r"\bhtml\s*\{[^}]*font-size:\s*([\d.]+)pt", geometry.font_size)
        family = re.search(r'\bhtml\s*\{[^}]*font-family:\s*"([^"]+)"', css)
        if family and family.group(1) in FONTS:
            geometry.font_family = family.group(1)
        # The wording of "Page X of Y" is in CSS strings; the default wording is used.
        geometry.page_numbers = "@bottom-right" in css
        size = re.search(r"@page\s*\{\s*size:\s*([\d.]+)mm\s+([\d.]+)mm;\s*margin:\s*([\d.]+)mm\s+([\d.]+)mm\s+"
                         r"([\d.]+)mm\s+([\d.]+)mm", css)
        if size:
            values = [_number(value, None) for value in size.groups()]
            if None not in values:
                geometry.sheet, geometry.margins = tuple(values[:2]), tuple(values[2:])
        return geometry

    @classmethod
    def from_body(cls, attrs):
        """The body's data-* attributes; absent (documents stored before them): the layout
        model's defaults. ``data-layout="none"``: a document made without a layout."""
        if attrs.get("data-layout") == "none":
            return cls(window="none", page_numbers=False)
        geometry = cls()
        if attrs.get("data-window") in ("left", "right", "none"):
            geometry.window = attrs["data-window"]
        for name in ("window_top", "window_side", "window_width", "window_height", "logo_width", "logo_max_height"):
            setattr(geometry, name, _number(attrs.get("data-" + name.replace("_", "-")), getattr(geometry, name)))
        geometry.font_size = _number(attrs.get("data-font-size"), geometry.font_size, 4, 72)
        if attrs.get("data-logo-position") in ("left", "right"):
            geometry.logo_position = attrs["data-logo-position"]
        if attrs.get("data-font-family") in FONTS:
            geometry.font_family = attrs["data-font-family"]
        if "data-page-numbers" in attrs:
            geometry.page_numbers = attrs["data-page-numbers"] == "true"
        if "data-page-number-text" in attrs:
            geometry.page_number_text = attrs["data-page-number-text"]
        sheet = [_number(attrs.get(f"data-sheet-{name}"), None, 10) for name in ("width", "height")]
        if None not in sheet:
            geometry.sheet = tuple(sheet)
        margins = [_number(attrs.get(f"data-margin-{name}"), None) for name in ("top", "right", "bottom", "left")]
        if None not in margins:
            geometry.margins = tuple(margins)
        return geometry


# Images ----------------------------------------------------------------------------------


@dataclass
class ImageFiles:
    """The letter's images, decoded from data: URIs, to be written into the render's root."""

    files: dict = field(default_factory=dict)  # name → bytes
    refused: list = field(default_factory=list)

    def add(self, src):
        """The file's path inside the root, or None (refused, and listed when not data:)."""
        src = (src or "").strip()
        if not src.lower().startswith("data:"):
            self.refused.append(src)
            return None
        header, comma, payload = src[5:].partition(",")
        if not comma:
            self.refused.append(src[:200])
            return None
        parts = [part.strip().lower() for part in header.split(";")]
        extension = IMAGE_TYPES.get(parts[0])
        try:
            content = base64.b64decode(payload, validate=False) if "base64" in parts[1:] else \
                urllib.parse.unquote_to_bytes(payload)
        except ValueError:  # binascii.Error is one
            content = b""
        if extension is None or not content.startswith(IMAGE_MAGIC[extension]) or not _decodes(content):
            self.refused.append(src[:200])
            return None
        name = f"image-{hashlib.sha256(content).hexdigest()[:24]}.{extension}"
        self.files[name] = content
        return "/" + name


def _decodes(content):
    """Whether the image decodes (a broken one would stop the whole letter in Typst)."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(content)) as image:
            image.verify()
        return True
    except Exception:  # noqa: BLE001 (any failure to decode is a refusal)
        return False


def _pixel_size(content):
    """(width, height) in pixels, or None when unknown."""
    try:
        from PIL import Image

        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
        return (width, height) if width > 0 and height > 0 else None
    except Exception:  # noqa: BLE001 (a size it cannot read: the layout's width alone)
        return None


# HTML → Typst ----------------------------------------------------------------------------


@dataclass
class TypstDocument:
    source: str
    images: ImageFiles
    title: str = ""
    language: str = "en"
    created: datetime.datetime = None


INLINE_WRAPPERS = {
    "strong": "#strong[", "b": "#strong[", "em": "#emph[", "i": "#emph[", "u": "#underline[", "ins": "#underline[",
    "s": "#strike[", "del": "#strike[", "strike": "#strike[", "sup": "#super[", "sub": "#sub[",
    "small": "#text(size: 0.85em)[", "code": '#text(font: "DejaVu Sans Mono", size: 0.9em)[',
}
MUTED = 'rgb("#555555")'


class _Writer:
    def __init__(self, geometry, images):
        self.geometry = geometry
        self.images = images
        self.header = ""
        self.footer = ""
        self.in_body = False
        self.depth = 0  # elements open around the one being written
        self.in_list = False
        self._space = True  # the inline text so far ends with a space (or a line's start)
        self._heading_level = 0  # the structural level of the last heading written
        self._heading_base = None  # the HTML level of the first one

    # Inline content ----------------------------------------------------------------------

    def inline(self, nodes):
        self._space = True
        return "".join(self._inline_node(node) for node in nodes)

    def _text(self, text):
        text = _SPACE.sub(" ", printable(text))
        if self._space:
            text = text.lstrip(" ")
        if not text:
            return ""
        self._space = text.endswith(" ")
        return "#" + typst_string(text)

    def _inline_node(self, node):
        if isinstance(node, str):
            return self._text(node)
        tag = node.tag
        if tag in SKIPPED:
            return ""
        if self.depth >= MAX_DEPTH:
            return self._text(node.text())
        self.depth += 1
        try:
            return self._inline_element(node, tag)
        finally:
            self.depth -= 1

    def _inline_element(self, node, tag):
        if tag == "br":
            self._space = True
            return "#linebreak()"
        if tag == "img":
            return self._image(node, inline=True)
        content = "".join(self._inline_node(child) for child in node.children)
        if tag == "mark" and "missing-field" in node.classes:
            return ('#box(fill: rgb("#fde68a"), stroke: (paint: rgb("#b45309"), thickness: 0.5pt, dash: "dashed"), '
                    f'inset: (x: 2pt), outset: (y: 2pt))[#text(fill: rgb("#7c2d12"))[{content}]]')
        if tag == "q":
            return f"#quote[{content}]"
        wrapper = INLINE_WRAPPERS.get(tag)
        return f"{wrapper}{content}]" if wrapper else content  # a, span and the unknown: their text

    def _image(self, node, inline=False, width=None):
        path = self.images.add(node.attrs.get("src"))
        if path is None:
            return ""
        arguments = [typst_string(path)]
        if width is None:
            match = _WIDTH_MM.search(node.attrs.get("style", "").lower())
            width = float(match.group(1)) if match else None
        if width:
            arguments.append(f"width: {_mm(width)}")
        alt = printable(node.attrs.get("alt", "")).strip()
        if alt:
            image = f"image({', '.join(arguments + [f'alt: {typst_string(alt)}'])})"
        else:
            # No alt text: decoration (the letterhead's logo), marked as such for screen readers
            # (a PDF/UA artifact) rather than an image they would announce without a name.
            image = f"pdf.artifact(image({', '.join(arguments)}))"
        self._space = False
        return f"#box({image})" if inline else f"#{image}"

    def _logo(self, node):
        """The letterhead's logo, as document.html places it: at the top of the first page on
        its side, in its proportions, no wider than the layout's logo width and no taller than
        the band above the address window; without a window, above the letter in the flow."""
        geometry = self.geometry
        path = self.images.add(node.attrs.get("src"))
        if path is None:
            return ""
        width = geometry.logo_width
        size = _pixel_size(self.images.files[path.lstrip("/")])
        if size:
            width = min(width, geometry.logo_max_height * size[0] / size[1])
        image = self._image(node, width=round(width, 2))
        if geometry.window == "none":
            return f"#align({geometry.logo_position})[{image}]\n\n#v(5mm)"
        return f"#place(top + {geometry.logo_position}, {image[1:]})"

    # Block content -----------------------------------------------------------------------

    def blocks(self, nodes):
        return "\n\n".join(markup for _kind, markup in self.segments(nodes))

    def segments(self, nodes):
        """(kind, markup) for each block, a run of inline content counting as one paragraph."""
        result, run = [], []

        def flush():
            if run:
                markup = self.inline(run)
                if markup:
                    result.append(("par", markup))
                run.clear()

        for node in nodes:
            if isinstance(node, Node) and node.tag in SKIPPED:
                continue
            if isinstance(node, Node) and (node.tag in BLOCKS or node.has_block() or (
                    node.tag == "img" and "letter-logo" in node.classes and not self.in_body)):
                flush()
                markup = self.block(node)
                if markup:
                    kind = "pagebreak" if markup.startswith("#pagebreak") else \
                        "par" if node.tag == "p" and not node.has_block() else "block"
                    result.append((kind, markup))
            else:
                run.append(node)
        flush()
        return result

    def block(self, node):
        if self.depth >= MAX_DEPTH:
            return self.inline([node.text()])
        self.depth += 1
        try:
            return self._block_element(node)
        finally:
            self.depth -= 1

    def _block_element(self, node):
        tag, classes = node.tag, node.classes
        if not self.in_body:
            special = self._document_part(node, classes)
            if special is not None:
                return special
        if "page-break" in classes:
            return "#pagebreak(weak: true)"
        if "render-problem" in classes:
            return ('#block(width: 100%, stroke: 0.5pt + rgb("#cd4444"), fill: rgb("#fdf2f2"), inset: 2mm, '
                    f'above: 2mm, below: 2mm)[#text(size: 9pt, fill: rgb("#8a1c1c"))[{self.blocks(node.children)}]]')
        if tag == "p":
            return self.blocks(node.children) if node.has_block() else self.inline(node.children)
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            return self._heading(int(tag[1]), node)
        if tag in ("ul", "ol"):
            return self._list(node)
        if tag == "table":
            return self._table(node)
        if tag == "figure":
            return self._figure(node)
        if tag == "blockquote":
            return f"#quote(block: true)[{self.blocks(node.children)}]"
        if tag == "hr":
            return '#line(length: 100%, stroke: 0.3pt + rgb("#999999"))'
        if tag == "dl":
            return self._definitions(node)
        return self.blocks(node.children)

    def _heading(self, level, node):
        """PDF/UA-1 wants the first heading at level 1 and no level skipped on the way down;
        authors write h2 and h3 in fragments. The structure counts levels from the letter's
        first heading (h2, h3 → 1, 2), never deeper than one below the last and never above 1;
        the size stays the tag's."""
        if self._heading_base is None:
            self._heading_base = level  # the letter's first heading is its top level
        structural = max(1, min(level - self._heading_base + 1, self._heading_level + 1))
        self._heading_level = structural
        return (f"#heading(level: {structural}, outlined: false)[#text(size: {HEADING_SIZES[level]})"
                f"[{self.inline(node.children)}]]")

    def _list(self, node):
        items = []
        outermost = not self.in_list
        self.in_list = True
        try:
            for child in node.children:
                if isinstance(child, str) and not child.strip():
                    continue
                content = self.blocks(child.children if isinstance(child, Node) and child.tag == "li" else [child])
                # An item of the outermost list is not cut (unless longer than a page); the
                # items of the lists inside it are kept with it.
                items.append(f"keep[{content}]" if outermost else f"[{content}]")
        finally:
            self.in_list = not outermost
        if not items:
            return ""
        if node.tag == "ol":
            start = int(_number(node.attrs.get("start"), 1, 0, 1_000_000))
            return f"#enum(start: {start}, {', '.join(items)})"
        return f"#list({', '.join(items)})"

    def _table(self, node):
        header_rows, rows, caption = [], [], ""
        for child in node.children:
            if not isinstance(child, Node):
                continue
            if child.tag == "caption":
                caption = self.inline(child.children)
            elif child.tag == "thead" and not rows:
                header_rows.extend(c for c in child.children if isinstance(c, Node) and c.tag == "tr")
            elif child.tag in ("thead", "tbody", "tfoot"):
                rows.extend(c for c in child.children if isinstance(c, Node) and c.tag == "tr")
            elif child.tag == "tr":
                rows.append(child)
        if not header_rows and not rows:
            return ""
        cells_of, width_of = {}, {}
        columns = 1
        spanning = []  # (rows still covered, columns covered) of cells spanning down from above
        all_rows = header_rows + rows
        for index, row in enumerate(all_rows):
            cells = []
            for cell in row.children:
                if isinstance(cell, Node) and cell.tag in ("td", "th"):
                    span = int(_number(cell.attrs.get("colspan"), 1, 1, 50))
                    # A cell spans no further down than its part of the table goes (Typst refuses
                    # more, and a header cell reaching into the body).
                    end = len(header_rows) if index < len(header_rows) else len(all_rows)
                    down = int(min(_number(cell.attrs.get("rowspan"), 1, 1, 500), end - index))
                    content = self.blocks(cell.children)
                    if cell.tag == "th":
                        content = f"#strong[{content}]"
                    cells.append((span, down, cell, content))
            cells_of[id(row)] = cells
            # Columns taken by cells spanning from rows above leave this row fewer cells to hold.
            width_of[id(row)] = sum(covered for _rows, covered in spanning) + sum(cell[0] for cell in cells)
            columns = max(columns, width_of[id(row)])
            spanning = [(left - 1, covered) for left, covered in spanning if left > 1] + [
                (down - 1, span) for span, down, _cell, _content in cells if down > 1]
        # A row is not cut across pages: Typst then moves it whole to the next page, and cuts
        # off what does not fit there. So a row that may be longer than a page (an estimate,
        # on the safe side) may break.
        chars_per_line = max(6, 80 // columns)

        def cell_markup(span, down, content, breakable):
            arguments = ([f"colspan: {span}"] if span > 1 else []) + ([f"rowspan: {down}"] if down > 1 else []) + (
                ["breakable: true"] if breakable else [])
            return f"table.cell({', '.join(arguments)})[{content}]" if arguments else f"[{content}]"

        for row_id, cells in cells_of.items():
            # One unbreakable cell keeps its row whole: a long row's cells are all breakable.
            long = any(_estimated_lines(cell, chars_per_line * span) > KEEP_LINES
                       for span, _down, cell, _content in cells)
            cells_of[row_id] = [cell_markup(span, down, content, long) for span, down, _cell, content in cells]

        def row_markup(row):
            return cells_of[id(row)] + ["[]"] * (columns - width_of[id(row)])

        arguments = [f"columns: ({', '.join(['1fr'] * columns)},)"]
        if header_rows:
            arguments.append(f"table.header({', '.join(c for row in header_rows for c in row_markup(row))})")
        arguments.extend(c for row in rows for c in row_markup(row))
        table = f"#table({', '.join(arguments)})"
        return f"{caption}\n\n{table}" if caption else table

    def _figure(self, node):
        classes = node.classes
        align = "center" if "align-center" in classes else "right" if "align-right" in classes else "left"
        content = self.blocks(node.children)
        return f"#block(breakable: false, above: 3mm, below: 3mm, width: 100%)[#align({align})[{content}]]"

    def _definitions(self, node, label_width="30mm"):
        cells = []
        for child in node.children:
            if isinstance(child, Node) and child.tag == "dt":
                cells.append(f"text(fill: {MUTED})[{self.inline(child.children)}]")
            elif isinstance(child, Node) and child.tag == "dd":
                if len(cells) % 2 == 0:
                    cells.append("[]")
                cells.append(f"[{self.blocks(child.children)}]")
        if len(cells) % 2:
            cells.append("[]")
        if not cells:
            return ""
        return f"#grid(columns: ({label_width}, 1fr), column-gutter: 2mm, row-gutter: 0.6em, {', '.join(cells)})"

    # The letter's parts ------------------------------------------------------------------

    def _document_part(self, node, classes):
        """Markup for the document's own parts (only outside the body: content cannot claim
        to be the letterhead), or None for ordinary content."""
        geometry = self.geometry
        if "letter-header" in classes:
            self.header = self.blocks(node.children)
            return ""
        if "letter-footer" in classes:
            self.footer = self.blocks(node.children)
            return ""
        if "letter-footer-end" in classes:
            return ""  # the footer prints on every page, the last one included
        if node.tag == "img" and "letter-logo" in classes:
            return self._logo(node)
        if "letter-window" in classes:
            return self._window(node)
        if "letter-after-window" in classes:
            content = self.blocks(node.children)
            if geometry.window == "none":
                return content
            space = geometry.window_top + geometry.window_height + 5
            return f"#v({_mm(space)})\n\n{content}"
        if node.tag == "dl" and "letter-meta" in classes:
            grid = self._definitions(node, label_width="28mm")
            return f"#block(above: 6mm, below: 6mm)[#text(size: 9pt)[{grid}]]" if grid else ""
        if node.tag == "p" and "letter-subject" in classes:
            return f"#block(sticky: true, above: 4mm, below: 4mm)[#strong[{self.inline(node.children)}]]"
        if "letter-body" in classes:
            return self._body(node)
        if "letter-sender" in classes or "letter-recipient" in classes:
            return self._window_part(node, classes)
        return None

    def _window_part(self, node, classes):
        content = self.blocks(node.children)
        if "letter-sender" in classes:
            return (f'#block(width: 100%, stroke: (bottom: 0.3pt + rgb("#999999")), inset: (bottom: 1pt), '
                    f'below: 2mm)[#text(size: 7pt, fill: {MUTED})[{content}]]')
        return f"#block(width: 100%)[{content}]"

    def _window(self, node):
        geometry = self.geometry
        parts = []
        for child in node.children:
            if isinstance(child, Node):
                classes = child.classes
                if "letter-sender" in classes or "letter-recipient" in classes:
                    parts.append(self._window_part(child, classes))
                else:
                    parts.append(self.blocks([child]))
            elif child.strip():
                parts.append(self.blocks([child]))
        content = "\n\n".join(part for part in parts if part)
        if geometry.window == "none":
            return content
        margins = self.page_margins
        if geometry.window == "right":
            dx = -(geometry.window_side - margins[1])
        else:
            dx = geometry.window_side - margins[3]
        dy = geometry.window_top - margins[0]
        window = (f"block(width: {_mm(geometry.window_width)}, height: {_mm(geometry.window_height)}, "
                  f"spacing: 0pt)[#align(left)[{content}]]")
        return f"#place(top + {geometry.window}, dx: {_mm(dx)}, dy: {_mm(dy)}, {window})"

    def _body(self, node):
        """The letter's body: its blocks, the last three kept with the block before them
        (PAGINATION_CSS's ``nth-last-child(-n+3) { break-before: avoid }``)."""
        self.in_body = True
        try:
            segments = self.segments(node.children)
        finally:
            self.in_body = False
        out = []
        sticky_from = len(segments) - 4
        for index, (kind, markup) in enumerate(segments):
            # Paragraphs only: Typst moves a whole chain of sticky blocks to the next page, and
            # a table or a list carried along would leave a gap where CSS would have split it.
            if kind == "par" and sticky_from <= index < len(segments) - 1 and segments[index + 1][0] != "pagebreak":
                markup = f"#block(sticky: true, width: 100%)[{markup}]"
            out.append(markup)
        return "\n\n".join(out)


KEEP_LINES = 30  # about two thirds of an A4 page of 10.5 pt text


def _estimated_lines(node, chars_per_line):
    """How many lines a cell's content takes at most, about: its text at ``chars_per_line``,
    plus a line for each break and block; an image counts as too tall to keep."""
    characters, lines = 0, 1
    for descendant in node.descendants():
        if isinstance(descendant, str):
            characters += len(descendant)
        elif descendant.tag == "img":
            lines += KEEP_LINES + 1
        elif descendant.tag == "br" or descendant.tag in BLOCKS:
            lines += 1
    return lines + characters // chars_per_line


def _metadata_date(created):
    created = created.astimezone(datetime.timezone.utc) if created.tzinfo else created
    return (f"datetime(year: {created.year}, month: {created.month}, day: {created.day}, hour: {created.hour}, "
            f"minute: {created.minute}, second: {created.second})")


def _page_number(template):
    counters = {PAGE: "#str(counter(page).get().first())", PAGES: "#str(counter(page).final().first())"}
    return "".join(counters.get(part) or "#" + typst_string(printable(part)) for part in page_number_parts(template))


def _head_value(head, name):
    if head is None:
        return ""
    for child in head.children:
        if isinstance(child, Node) and child.tag == "meta" and child.attrs.get("name") == name:
            return child.attrs.get("content", "")
        if isinstance(child, Node) and child.tag == name == "title":
            return "".join(c for c in child.children if isinstance(c, str))
    return ""


def translate(html, *, page, title="", author="", description="", created=None):
    """The Typst source for a print document. ``page`` is the PageSetup (None: the document's
    own data-* values, else A4). Returns a TypstDocument whose images are to be written into
    the render's root."""
    tree = parse_html(html)
    root = tree.find("html")
    root = tree if root is None else root
    head = tree.find("head")
    body = tree.find("body")
    body = root if body is None else body
    if "data-layout" in body.attrs:
        geometry = Geometry.from_body(body.attrs)
    else:
        style = tree.find("style")
        geometry = Geometry.from_css("".join(c for c in style.children if isinstance(c, str)) if style else "")

    if page is not None:
        sheet = (page.width, page.height)
        margins = (page.margin_top, page.margin_right, page.margin_bottom, page.margin_left)
    else:
        sheet = geometry.sheet or (210, 297)
        margins = geometry.margins or (25, 20, 25, 25)
    language = root.attrs.get("lang", "") if isinstance(root, Node) else ""
    match = _LANG.match(language or "")
    lang, region = (match.group(1).lower(), match.group(2)) if match else ("en", None)

    title = title or _head_value(head, "title").strip()
    author = author or _head_value(head, "author")
    description = description or _head_value(head, "description")
    if created is None:
        try:
            created = datetime.datetime.fromisoformat(_head_value(head, "dcterms.created"))
        except ValueError:
            created = None
    if created is None:
        created = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)

    images = ImageFiles()
    writer = _Writer(geometry, images)
    writer.page_margins = margins
    content = writer.blocks(body.children)

    fonts = ", ".join(typst_string(name) for name in FONTS[geometry.font_family] + FALLBACK_FONTS)
    number = _page_number(geometry.page_number_text) if geometry.page_numbers else ""
    footer_cells = ["[]", f"align(center)[#text(size: 7.5pt)[{writer.footer}]]",
                    f"align(right)[#text(size: 8pt)[{number}]]"]
    preamble = [
        f"#set document(title: {typst_string(printable(title))}, "
        f"author: ({typst_string(printable(author))},), " if author else
        f"#set document(title: {typst_string(printable(title))}, author: (), ",
    ]
    preamble[0] += f"description: {typst_string(printable(description))}, date: {_metadata_date(created)})"
    region_argument = f", region: {typst_string(region.upper())}" if region else ""
    preamble += [
        f"#set text(font: ({fonts},), size: {round(geometry.font_size, 2)}pt, fill: rgb(\"#1d1d1b\"), "
        f"lang: {typst_string(lang)}{region_argument})",
        # CSS's line-height 1.4 and 1em between paragraphs, from baseline to baseline.
        "#set par(leading: 0.67em, spacing: 1.67em)",
        "#set block(spacing: 1.67em)",
        "#set list(spacing: 0.67em)",
        "#set enum(spacing: 0.67em)",
        # CSS's padding 1mm 2mm around a line 1.4 high.
        '#set table(stroke: 0.3pt + rgb("#999999"), inset: (x: 2mm, y: 1mm + 0.3em), align: left + top)',
        "#set table.cell(breakable: false)",  # a table row is not cut (see _table)
        # A list item is not cut, unless it is taller than a page would hold: it then breaks,
        # where an unbreakable block would run off the page.
        f"#let keep(body) = layout(size => block(breakable: measure(block(width: size.width, body)).height > "
        f"{_mm(0.9 * (sheet[1] - margins[0] - margins[2]))}, body))",
        "#show table: set block(above: 3mm, below: 3mm)",
        "#show heading: set block(sticky: true, above: 1.8em, below: 1.2em)",  # stays with what follows
        # Sizes follow the HTML tag (_heading), not the structural level Typst records.
        "#show heading: set text(size: 1em)",
        f"#set page(width: {_mm(sheet[0])}, height: {_mm(sheet[1])}, "
        f"margin: (top: {_mm(margins[0])}, right: {_mm(margins[1])}, bottom: {_mm(margins[2])}, "
        f"left: {_mm(margins[3])}),",
        f"  header: [#text(size: 8pt, fill: {MUTED})[#align(center)[{writer.header}]]],",
        f"  footer: context [#text(fill: {MUTED})[#grid(columns: (1fr, 4fr, 1fr), {', '.join(footer_cells)})]])",
    ]
    return TypstDocument(source="\n".join(preamble) + "\n\n" + content + "\n", images=images, title=title,
                         language=lang, created=created)
