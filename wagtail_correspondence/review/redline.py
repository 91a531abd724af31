"""A word-level redline of two rendered texts: what a change inserts and deletes, as the
customer would read it.

The input is rendered HTML; only its text is compared (markup never reaches the redline), and
the result is a list of (kind, text) pieces that the page template escapes like any other text.
"""

import difflib
import re
from html.parser import HTMLParser

EQUAL, INSERTED, DELETED = "equal", "insert", "delete"

# Elements that end a line of text when read.
BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
                    "blockquote", "section", "header", "footer", "address"})
SKIPPED = frozenset({"style", "script", "head", "title"})
# Words with the punctuation they carry ("€10", "soon."), the spaces between them, line ends.
TOKEN_RE = re.compile(r"\n|[^\S\n]+|\S+")


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skipping = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED:
            self.skipping += 1
        elif tag in BLOCKS:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def text_of(html):
    """The readable text of rendered HTML: one line per paragraph, spaces collapsed."""
    parser = _Text()
    parser.feed(str(html or ""))
    parser.close()
    lines = (re.sub(r"[^\S\n]+", " ", line).strip() for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


def redline(old_html, new_html):
    """[(kind, text)] turning the text of ``old_html`` into that of ``new_html``, word by word;
    neighbouring pieces of the same kind are merged."""
    old, new = TOKEN_RE.findall(text_of(old_html)), TOKEN_RE.findall(text_of(new_html))
    pieces = []

    def add(kind, tokens):
        text = "".join(tokens)
        if not text:
            return
        if pieces and pieces[-1][0] == kind:
            pieces[-1] = (kind, pieces[-1][1] + text)
        else:
            pieces.append((kind, text))

    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for operation, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if operation == "equal":
            add(EQUAL, old[old_start:old_end])
        else:
            add(DELETED, old[old_start:old_end])
            add(INSERTED, new[new_start:new_end])
    return pieces


def has_changes(pieces):
    return any(kind != EQUAL for kind, _text in pieces)
