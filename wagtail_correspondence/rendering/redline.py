"""A word-level redline of two rendered texts: what a change inserts and deletes, as the
customer would read it.

The input is rendered HTML; only its text is compared (markup never reaches the redline), and
the result is a list of (kind, text) pieces that the page template escapes like any other text.
With ``styles=True`` a word also carries its emphasis (bold, italic), so that making a word
bold shows as a change, and each piece is (kind, text, style) with ``style`` a frozenset of
``"bold"`` and ``"italic"``. The revision comparison, the letter page, the API and the audit
log all use this one function.
"""

import difflib
import re
from html.parser import HTMLParser

EQUAL, INSERTED, DELETED = "equal", "insert", "delete"
BOLD, ITALIC = "bold", "italic"

# Elements that end a line of text when read.
BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
                    "blockquote", "section", "header", "footer", "address"})
SKIPPED = frozenset({"style", "script", "head", "title"})
STYLES = {"b": BOLD, "strong": BOLD, "i": ITALIC, "em": ITALIC}
NO_STYLE = frozenset()
# Words with the punctuation they carry ("€10", "soon."), the spaces between them, line ends.
TOKEN_RE = re.compile(r"\n|[^\S\n]+|\S+")


class _Text(HTMLParser):
    """The text of HTML as (text, style) runs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.runs, self.skipping, self.open_styles = [], 0, []

    @property
    def style(self):
        return frozenset(self.open_styles)

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED:
            self.skipping += 1
        elif tag in BLOCKS:
            self.runs.append(("\n", NO_STYLE))
        elif tag in ("td", "th"):
            self.runs.append((" ", NO_STYLE))
        elif tag in STYLES:
            self.open_styles.append(STYLES[tag])

    def handle_endtag(self, tag):
        if tag in SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in BLOCKS:
            self.runs.append(("\n", NO_STYLE))
        elif tag in STYLES and STYLES[tag] in self.open_styles:
            self.open_styles.reverse()
            self.open_styles.remove(STYLES[tag])
            self.open_styles.reverse()

    def handle_data(self, data):
        if not self.skipping:
            self.runs.append((data, self.style))


def _runs(html):
    parser = _Text()
    parser.feed(str(html or ""))
    parser.close()
    return parser.runs


def text_of(html):
    """The readable text of rendered HTML: one line per paragraph, spaces collapsed."""
    lines = (re.sub(r"[^\S\n]+", " ", line).strip() for line in "".join(text for text, _ in _runs(html)).split("\n"))
    return "\n".join(line for line in lines if line)


def _tokens(html, styles):
    """Words, spaces and line ends of the readable text, each with its style (spaces and line
    ends have none: emphasis of a space is invisible)."""
    if not styles:
        return [(token, NO_STYLE) for token in TOKEN_RE.findall(text_of(html))]
    tokens = []
    for text, style in _runs(html):
        for token in TOKEN_RE.findall(re.sub(r"[^\S\n]+", " ", text)):
            tokens.append((token, style if token.strip() else NO_STYLE))
    # The same layout as text_of: no blank lines, no spaces around line ends.
    cleaned = []
    for token in tokens:
        if token[0] == "\n":
            while cleaned and not cleaned[-1][0].strip():
                cleaned.pop()
            if cleaned:
                cleaned.append(("\n", NO_STYLE))
        elif token[0].strip() or (cleaned and cleaned[-1][0] not in ("\n", " ")):
            cleaned.append((" ", NO_STYLE) if not token[0].strip() else token)
    while cleaned and not cleaned[-1][0].strip():
        cleaned.pop()
    return cleaned


def redline(old_html, new_html, styles=False):
    """[(kind, text)] turning the text of ``old_html`` into that of ``new_html``, word by word;
    neighbouring pieces of the same kind (and style) are merged. ``styles``: see above."""
    old, new = _tokens(old_html, styles), _tokens(new_html, styles)
    pieces = []

    def add(kind, tokens):
        for text, style in tokens:
            if pieces and pieces[-1][0] == kind and (not text.strip() or pieces[-1][2] == style):
                pieces[-1] = (kind, pieces[-1][1] + text, pieces[-1][2])
            else:
                pieces.append((kind, text, style))

    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for operation, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if operation == "equal":
            add(EQUAL, new[new_start:new_end])
        else:
            add(DELETED, old[old_start:old_end])
            add(INSERTED, new[new_start:new_end])
    if styles:
        return pieces
    return [(kind, text) for kind, text, _style in pieces]


def has_changes(pieces):
    return any(piece[0] != EQUAL for piece in pieces)


def as_text(pieces):
    """The redline in the form of ``wdiff``: ``[-deleted-]{+inserted+}``, emphasis as
    ``*bold*`` and ``_italic_`` (for the audit log and plain-text answers)."""
    groups = []
    for kind, text, *style in pieces:
        style = style[0] if style else NO_STYLE
        if text.strip():
            lead, core, tail = re.match(r"(\s*)(.*?)(\s*)\Z", text, re.S).groups()
            core = f"*{core}*" if BOLD in style else core
            text = f"{lead}{f'_{core}_' if ITALIC in style else core}{tail}"
        if groups and groups[-1][0] == kind:
            groups[-1][1] += text
        else:
            groups.append([kind, text])
    return "".join({EQUAL: "{}", INSERTED: "{{+{}+}}", DELETED: "[-{}-]"}[kind].format(text) for kind, text in groups)


def as_dicts(pieces):
    """The styled pieces for JSON: kind, text, bold, italic."""
    return [{"kind": kind, "text": text, "bold": BOLD in style, "italic": ITALIC in style}
            for kind, text, style in pieces]
