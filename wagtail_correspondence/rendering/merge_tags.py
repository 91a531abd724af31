"""Finding the merge tags in authored text by Jinja's own delimiters.

Authored content reaches the sandbox in two forms: rich text, whose HTML escapes ``>`` inside
``{{ balance > 0 }}`` as ``&gt;``, and plain text (table cells, list columns, subjects), whose
literal parts must be escaped before they become template data. Either way the text is split
the way Jinja's lexer splits it:

- ``{{ … }}`` and ``{% … %}`` are tags: in rich text, their HTML entities are decoded (the
  editor wrote them), and only there. A tag ends where Jinja ends it: at the first closing
  delimiter outside string literals and brackets, so ``{{ '}}' }}`` is one tag;
- ``{# … #}`` is a comment: dropped, as Jinja would, and never unescaped;
- ``{% raw %}…{% endraw %}`` is literal text: it becomes template data like any other text.

Everything else is template data and is never decoded: ``&lt;script&gt;`` between tags stays
text. The template source built from the pieces escapes every ``{`` of its data, so nothing
the author wrote as text (or as an entity, or inside a raw block) can become a tag; and the
source is lexed by Jinja once more to prove that its tags are exactly the ones found here.
"""

import functools
import html
import re
from dataclasses import dataclass

from jinja2 import Environment, TemplateSyntaxError
from markupsafe import escape

from .errors import MergeError

# The character references html.unescape() decodes (the same pattern as the html module's).
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
_OPENING = re.compile(r"\{[{%#]")
# Jinja's raw block delimiters (its lexer's own patterns, with its whitespace control).
_RAW_BEGIN = re.compile(r"\{%[-+]?\s*raw\s*[-+]?%\}\Z")
_RAW_END = re.compile(r"\{%[-+]?\s*endraw\s*[-+]?%\}")
_COMMENT_END = "#}"
_CLOSING_BRACKETS = {")": "(", "]": "[", "}": "{"}
# "{" in template data: as an entity it shows the same and can never open a tag.
BRACE_ENTITY = "&#123;"
# A Jinja environment for its lexer only (the same delimiters and options as the sandbox's).
_LEXER = Environment().lexer


@dataclass(frozen=True)
class Tag:
    """A ``{{ … }}`` or ``{% … %}`` tag: its text as Jinja will read it, and where it was.
    An unclosed tag runs to the end of the text (compiling it reports the error)."""

    text: str
    start: int
    end: int
    closed: bool = True


def _decoded_char(text, index, entities):
    """(character(s), next index) at ``index``: an entity counts as the text it stands for, and
    the editor's non-breaking space as a space (inside tags, where Jinja needs plain spaces)."""
    char = text[index]
    if entities and char == "&":
        match = _CHARREF.match(text, index)
        if match:
            return html.unescape(match.group(0)).replace("\xa0", " "), match.end()
    if char == "\xa0":
        return " ", index + 1
    return char, index + 1


def _read_tag(text, start, entities):
    """The tag opening at ``start``, ended where Jinja's lexer ends it."""
    closing = "}" if text[start + 1] == "{" else "%"
    parts, index, quote, escaped, brackets = [text[start:start + 2]], start + 2, None, False, []
    length = len(text)
    while index < length:
        chars, following = _decoded_char(text, index, entities)
        for char in chars:
            if quote is not None:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == quote:
                    quote = None
            elif char in "'\"":
                quote = char
            elif char in "([{":
                brackets.append(char)
            elif char in ")]}" and brackets:
                if brackets[-1] == _CLOSING_BRACKETS[char]:
                    brackets.pop()
            elif char == closing and not brackets and following < length:
                after, end = _decoded_char(text, following, entities)
                if after == "}":
                    parts.append(char + after)
                    return Tag("".join(parts), start, end)
        parts.append(chars)
        index = following
    # Never closed: Jinja reports it when the source is compiled.
    return Tag("".join(parts), start, length, closed=False)


def split_merge_tags(text, *, entities=False):
    """The pieces of ``text``, in order: template data (``str``, as written) and ``Tag``\\ s.
    With ``entities``, the text is HTML and entities inside tags are decoded."""
    pieces, data_start, position = [], 0, 0
    while True:
        opening = _OPENING.search(text, position)
        if opening is None:
            pieces.append(text[data_start:])
            return pieces
        start = opening.start()
        if text[start + 1] == "#":
            end = text.find(_COMMENT_END, start + 2)
            if end < 0:  # an unclosed comment: left to Jinja to report
                pieces += [text[data_start:start], Tag(text[start:], start, len(text), closed=False)]
                return pieces
            pieces.append(text[data_start:start])
            data_start = position = end + len(_COMMENT_END)
            continue
        tag = _read_tag(text, start, entities)
        if _RAW_BEGIN.match(tag.text):
            raw_end = _RAW_END.search(text, tag.end)
            if raw_end is None:  # an unclosed raw block: left to Jinja to report
                pieces += [text[data_start:start], Tag(text[start:], start, len(text), closed=False)]
                return pieces
            # The raw block's content is text like any other: the data continues through it.
            pieces.append(text[data_start:start] + text[tag.end:raw_end.start()])
            data_start = position = raw_end.end()
            continue
        pieces += [text[data_start:start], tag]
        data_start = position = tag.end


def protect_braces(data):
    return data.replace("{", BRACE_ENTITY)


def check_tag_boundaries(source, data_parts):
    """Jinja must read ``source`` with exactly ``data_parts`` as its template data (up to the
    whitespace its ``-`` markers strip): a tag this module ended too early or too late would
    otherwise leave decoded text as data, or data inside an expression."""
    try:
        lexed = "".join(value for _line, kind, value in _LEXER.tokeniter(source, None) if kind == "data")
    except TemplateSyntaxError:
        return True  # compiling the source reports the error, with its line
    return re.sub(r"\s+", "", lexed) == re.sub(r"\s+", "", "".join(data_parts))


class TagBoundaryError(MergeError):
    pass


def build_source(pieces, render_data):
    """Template source from pieces: each data piece through ``render_data`` (which returns
    what it becomes in the template, braces protected), each tag as Jinja reads it."""
    data_parts = [render_data(piece) if isinstance(piece, str) else None for piece in pieces]
    source = "".join(piece.text if data is None else data for piece, data in zip(pieces, data_parts))
    unclosed = any(data is None and not piece.closed for piece, data in zip(pieces, data_parts))
    # An unclosed tag cannot compile: Jinja's parser reports it, with its line.
    if not unclosed and not check_tag_boundaries(source, [data for data in data_parts if data is not None]):
        raise TagBoundaryError("the merge tags could not be told apart from the text around them")
    return source


def unescape_merge_tags(rich_text_html):
    """Rich text HTML as template source, the tags decoded and the rest as written. (Rich text
    blocks go through ``richtext.rich_text_source``, which also cleans the markup.)"""
    return build_source(split_merge_tags(rich_text_html, entities=True), protect_braces)


@functools.lru_cache(maxsize=4096)
def _text_to_template(text):
    return build_source(split_merge_tags(text), lambda data: protect_braces(str(escape(data))))


def text_to_template(text):
    """Authored plain text with merge tags, as template source whose literal parts are escaped."""
    return _text_to_template(text or "")


__all__ = ["Tag", "split_merge_tags", "build_source", "protect_braces", "unescape_merge_tags", "text_to_template",
           "TagBoundaryError", "BRACE_ENTITY"]
