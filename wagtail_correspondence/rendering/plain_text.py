"""The plain-text alternative of a letter's email, from its HTML.

A general HTML-to-text engine lays out any page (inscriptis did, at 40% of a letter's
assembly time); a letter holds only what the rich-text allow-list, the body's blocks and the
email frame write: paragraphs and headings, lists, tables, line breaks, links, figures. So
one pass of a tokenizer over the tags does it:

- each paragraph, heading or other block is a paragraph of text, separated by a blank line;
  runs of white space collapse to one space, as a browser shows them;
- list items are lines of their own, "- " or "1. " first (a nested list indented under its item);
- a table is lines of cells padded into columns (its caption above it);
- a link shows its address after its text, unless the text already is the address;
- ``<head>``, ``<style>`` and ``<script>`` are left out, images are left out.

Entities are decoded once, at the end of each piece of text, so an escaped ``&lt;p&gt;`` in
customer data stays the text "<p>" and never becomes a tag.
"""

import html
import re

_TOKEN = re.compile(
    r"<!--.*?-->|<[!?][^>]*>"                                           # a comment, <!DOCTYPE>
    r"|<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>"    # a tag and its attributes
    r"|([^<]+)"                                                         # text
    r"|<",                                                              # a lone "<" (text)
    re.S)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_SPACE = re.compile(r"[ \t\n\r\f\v]+")
_SKIPPED = frozenset({"head", "style", "script", "title", "template"})
_BLOCKS = frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "address", "figure", "figcaption",
                     "section", "article", "header", "footer", "main", "hr", "dl", "dt", "dd", "pre", "body", "html",
                     "caption"})
_LISTS = frozenset({"ul", "ol"})
_CELLS = frozenset({"td", "th"})


class _Table:
    def __init__(self):
        self.caption = ""
        self.rows = []

    def lines(self):
        rows = [row for row in self.rows if any(cell for cell in row)]
        if not rows:
            return [self.caption] if self.caption else []
        columns = max(len(row) for row in rows)
        widths = [max((len(row[index]) for row in rows if index < len(row)), default=0) for index in range(columns)]
        lines = [self.caption] if self.caption else []
        for row in rows:
            cells = [cell.ljust(widths[index]) for index, cell in enumerate(row)]
            lines.append("  ".join(cells).rstrip())
        return lines


class _Converter:
    def __init__(self):
        self.paragraphs = []  # finished paragraphs (each may hold several lines)
        self.inline = []  # text of the paragraph being read
        self.lists = []  # open lists: [tag, number of items so far, lines]
        self.tables = []  # open tables
        self.cell = None  # text of the table cell being read, when in one
        self.links = []  # hrefs of open links
        self.skipping = 0

    # Text -------------------------------------------------------------------------------

    def text(self, raw):
        if self.skipping:
            return
        target = self.cell if self.cell is not None else self.inline
        if "\n" in raw or "  " in raw or "\t" in raw or "\r" in raw or "\f" in raw or "\v" in raw:
            raw = _SPACE.sub(" ", raw)
        target.append(html.unescape(raw) if "&" in raw else raw)

    def line_break(self):
        target = self.cell if self.cell is not None else self.inline
        target.append("\n")

    def take_inline(self, parts):
        if not parts:
            return ""
        text = "".join(parts)
        parts.clear()
        if "\n" not in text:
            return " ".join(text.split())
        lines = [" ".join(line.split()) for line in text.split("\n")]
        return "\n".join(line for line in lines if line)

    # Blocks -----------------------------------------------------------------------------

    def end_paragraph(self):
        if self.cell is not None:  # inside a cell, a paragraph ends with a space
            self.cell.append(" ")
            return
        text = self.take_inline(self.inline)
        if text:
            self.add_block(text)

    def add_block(self, text):
        """A finished paragraph, list or table: into the open list item, else the letter."""
        if self.lists:
            items = self.lists[-1][1]
            if not items:
                items.append(["", []])
            items[-1][1].append(text)
        else:
            self.paragraphs.append(text)

    def start_item(self):
        self.end_paragraph()
        tag, items = self.lists[-1]
        items.append([f"{len(items) + 1}." if tag == "ol" else "-", []])

    def end_list(self):
        self.end_paragraph()
        _tag, items = self.lists.pop()
        lines = []
        for marker, texts in items:
            text = "\n".join(texts)
            if not text and not marker:
                continue
            first, *rest = text.split("\n") if text else [""]
            lines.append(f"{marker} {first}".strip() if marker else first)
            lines.extend("  " + line for line in rest)
        block = "\n".join(lines)
        if block:
            self.add_block(block)

    def end_table(self):
        table = self.tables.pop()
        block = "\n".join(table.lines())
        if block:
            self.add_block(block)

    # Tags -------------------------------------------------------------------------------

    def start(self, tag, attributes):
        if tag in _SKIPPED:
            self.skipping += 1
        if self.skipping:
            return
        if tag == "br":
            self.line_break()
        elif tag in _LISTS:
            self.end_paragraph()
            self.lists.append([tag, []])
        elif tag == "li" and self.lists:
            self.start_item()
        elif tag == "table":
            self.end_paragraph()
            self.tables.append(_Table())
        elif tag == "tr" and self.tables:
            self.tables[-1].rows.append([])
        elif tag in _CELLS and self.tables:
            self.cell = []
        elif tag == "a":
            match = _HREF.search(attributes)
            self.links.append(next((group for group in match.groups() if group is not None), "") if match else "")
        elif tag in _BLOCKS:
            self.end_paragraph()

    def end(self, tag):
        if tag in _SKIPPED:
            self.skipping = max(self.skipping - 1, 0)
            return
        if self.skipping:
            return
        if tag in _LISTS and self.lists:
            self.end_list()
        elif tag == "li" and self.lists:
            self.end_paragraph()
        elif tag in _CELLS and self.tables and self.cell is not None:
            text = self.take_inline(self.cell).replace("\n", " ")
            self.cell = None
            if not self.tables[-1].rows:
                self.tables[-1].rows.append([])
            self.tables[-1].rows[-1].append(text)
        elif tag == "caption" and self.tables:
            self.tables[-1].caption = self.take_inline(self.inline)
        elif tag == "table" and self.tables:
            self.end_table()
        elif tag == "a" and self.links:
            href = html.unescape(self.links.pop())
            target = self.cell if self.cell is not None else self.inline
            shown = "".join(target[-8:])
            if href and not href.startswith("#") and href.removeprefix("mailto:") not in shown:
                target.append(f" ({href.removeprefix('mailto:')})")
        elif tag in _BLOCKS:
            self.end_paragraph()

    def convert(self, markup):
        for match in _TOKEN.finditer(markup):
            closing, tag, attributes, text = match.groups()
            if text is not None:
                self.text(text)
            elif tag is not None:
                tag = tag.lower()
                if closing:
                    self.end(tag)
                else:
                    self.start(tag, attributes or "")
                    if tag in ("br", "hr", "img", "meta", "link", "input"):
                        continue
                    if (attributes or "").rstrip().endswith("/"):
                        self.end(tag)
            elif match.group(0) == "<":
                self.text("<")
        while self.tables:
            self.end_table()
        while self.lists:
            self.end_list()
        self.end_paragraph()
        return "\n\n".join(self.paragraphs).strip() + "\n"


def html_to_text(markup):
    """The text of a letter's HTML (see the module's docstring)."""
    return _Converter().convert(markup)


__all__ = ["html_to_text"]
