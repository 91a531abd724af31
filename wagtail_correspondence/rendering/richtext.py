"""Rich text as template source: merge tags found by Jinja's delimiters, the static HTML
around them cleaned to an allow-list.

Rich text saved through the editor only holds what its features make (paragraphs, headings,
lists, links, bold...). Rich text stored by code or an import can hold any HTML, so its static
markup is cleaned here with nh3 (the Ammonia sanitizer) to the same allow-list, once per
source (cached), not once per letter. Merge tags are swapped for placeholders while the HTML
is cleaned, so that the cleaner sees text where a tag is, and must keep each placeholder in
place: a merge tag may stand in text, or in a link's address after a fixed ``https://``,
``http://``, ``mailto:`` or ``tel:`` (so the data can never choose the scheme); anywhere else
(an attribute, a tag name, a comment, a script) the content is refused.

On save, markup outside the allow-list is a problem naming the tag or attribute and its line;
content saved before this check is cleaned when it is rendered (its markup removed, its text
kept), and refused only if its merge tags would not survive the cleaning.
"""

import functools
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import nh3

from .merge_tags import Tag, TagBoundaryError, build_source, protect_braces, split_merge_tags

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "b", "strong", "i", "em", "u", "s", "sup", "sub", "small",
    "ol", "ul", "li", "a", "blockquote", "span", "div",
})
ALLOWED_ATTRIBUTES = {"a": frozenset({"href", "title"}), "ol": frozenset({"start"}), "*": frozenset({"lang", "dir"})}
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
# Attributes Wagtail's editor writes for its own use: dropped without a word.
DROPPED_ATTRIBUTES = frozenset({"data-block-key"})
# A merge tag in a link's address must follow one of these, so that the data cannot pick the scheme.
MERGE_URL_PREFIX = re.compile(r"\s*(https?://[^\ue000]+|mailto:|tel:)", re.IGNORECASE)
_SCHEME = re.compile(r"\s*([a-z][a-z0-9+.\-]*):", re.IGNORECASE)

_OPEN, _CLOSE = "\ue000", "\ue001"
_PLACEHOLDER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
# Markers the author could have typed are not markers.
_STRAY_MARKERS = re.compile(f"[{_OPEN}{_CLOSE}]")
# A start tag as nh3 writes it: attribute values always in double quotes.
_START_TAG = re.compile(r'<([a-zA-Z][^\s/>]*)((?:\s+[^\s"\'>/=]+(?:="[^"]*")?)*)\s*/?>')
_ATTRIBUTE = re.compile(r'([^\s"\'>/=]+)(?:="([^"]*)")?')


def _cleaner(tags, attributes):
    return nh3.Cleaner(
        tags=set(tags), attributes={tag: set(names) for tag, names in attributes.items()},
        url_schemes=set(URL_SCHEMES), link_rel=None, strip_comments=True,
        clean_content_tags={"script", "style", "template", "noscript", "iframe", "object", "textarea", "title"})


@dataclass(frozen=True)
class Profile:
    """What markup a kind of rich text may hold. Authors' content has the editor's features;
    an agent's edit of approved wording has the letter's own styles only (``AGENT_TEXT``)."""

    name: str
    tags: frozenset
    attributes: dict

    @functools.cached_property
    def cleaner(self):
        return _cleaner(self.tags, self.attributes)

    def __hash__(self):
        return hash(self.name)


CONTENT = Profile("content", ALLOWED_TAGS, ALLOWED_ATTRIBUTES)
# Bold, italic, paragraphs and lists: what pasted Word or HTML in an agent's edit is cleaned to.
AGENT_TEXT = Profile("agent", frozenset({"p", "br", "b", "strong", "i", "em", "ol", "ul", "li"}), {"*": frozenset()})
AGENT_TEXT_WITH_LINKS = Profile("agent_links", AGENT_TEXT.tags | {"a"}, {"a": frozenset({"href"}), "*": frozenset()})
_CLEANER = CONTENT.cleaner


@dataclass(frozen=True)
class RichTextSource:
    """Template source of a rich text, and what is wrong with its markup (empty when fine).
    ``fatal`` problems stop it from rendering at all; the others were cleaned away."""

    source: str
    problems: tuple = ()
    fatal: bool = False


def placeholder(index):
    return f"{_OPEN}{index}{_CLOSE}"


class _MarkupInspector(HTMLParser):
    """Lists the markup the allow-list removes, and merge tags where they may not stand."""

    def __init__(self, tags, line_of, profile=CONTENT):
        super().__init__(convert_charrefs=True)
        self.tags, self.line_of, self.problems, self.profile = tags, line_of, [], profile

    def shown(self, text):
        return _PLACEHOLDER.sub(lambda match: self.tags[int(match.group(1))].text, text)

    def problem(self, message):
        line, column = self.getpos()
        self.problems.append(f"{message} (line {self.line_of(line, column)})")

    def handle_starttag(self, tag, attrs):
        if tag not in self.profile.tags:
            self.problem(f"the HTML element <{self.shown(tag)}> is not allowed in content")
            return
        allowed = self.profile.attributes.get(tag, frozenset()) | self.profile.attributes["*"]
        for name, value in attrs:
            value = value or ""
            if name in DROPPED_ATTRIBUTES and not _PLACEHOLDER.search(value):
                continue
            if name not in allowed:
                self.problem(f"the attribute '{self.shown(name)}' of <{tag}> is not allowed in content")
            elif _PLACEHOLDER.search(value):
                if name != "href" or not MERGE_URL_PREFIX.match(value):
                    self.problem("merge fields may only be used in text, or in a link address after https://, "
                                 "http://, mailto: or tel:")
            elif name == "href":
                scheme = _SCHEME.match(value)
                if scheme and scheme.group(1).lower() not in URL_SCHEMES:
                    self.problem(f"links to '{scheme.group(1)}:' addresses are not allowed in content")

    handle_startendtag = handle_starttag

    def handle_comment(self, data):
        if _PLACEHOLDER.search(data):
            self.problem("merge fields inside HTML comments are not allowed")


def _line_mapper(skeleton, tags, placeholder_starts):
    """(line, column) in the skeleton → line in the HTML as written (tags spanning lines
    were replaced by one-line placeholders)."""
    line_starts = [0] + [match.end() for match in re.finditer("\n", skeleton)]
    newlines_before = []
    total = 0
    for index, start in enumerate(placeholder_starts):
        total += tags[index].text.count("\n")
        newlines_before.append((start, total))

    def line_of(line, column):
        offset = line_starts[min(line, len(line_starts)) - 1] + column
        extra = 0
        for start, count in newlines_before:
            if start >= offset:
                break
            extra = count
        return line + extra

    return line_of


def _placeholders_kept(cleaned, count):
    """True when every placeholder is still there, once, in order, in text or after a fixed
    prefix in a link's address."""
    found = [int(match.group(1)) for match in _PLACEHOLDER.finditer(cleaned)]
    if found != list(range(count)):
        return False
    for tag in _START_TAG.finditer(cleaned):
        if not _PLACEHOLDER.search(tag.group(0)):
            continue
        if _PLACEHOLDER.search(tag.group(1)) or tag.group(1).lower() != "a":
            return False
        for name, value in _ATTRIBUTE.findall(tag.group(2)):
            if _PLACEHOLDER.search(name) or (_PLACEHOLDER.search(value)
                                             and (name != "href" or not MERGE_URL_PREFIX.match(value))):
                return False
    return True


@functools.lru_cache(maxsize=2048)
def rich_text_source(expanded_html, profile=CONTENT):
    """The template source of rich text (after ``expand_db_html``), cleaned to ``profile``;
    cached per source."""
    pieces = split_merge_tags(_STRAY_MARKERS.sub("\ufffd", expanded_html), entities=True)
    tags = [piece for piece in pieces if isinstance(piece, Tag)]
    skeleton_parts, starts, length = [], [], 0
    for piece in pieces:
        if isinstance(piece, Tag):
            starts.append(length)
            piece = placeholder(len(starts) - 1)
        skeleton_parts.append(piece)
        length += len(piece)
    skeleton = "".join(skeleton_parts)

    inspector = _MarkupInspector(tags, _line_mapper(skeleton, tags, starts), profile)
    inspector.feed(skeleton)
    inspector.close()
    problems = list(dict.fromkeys(inspector.problems))

    cleaned = profile.cleaner.clean(skeleton)
    if not _placeholders_kept(cleaned, len(tags)):
        return RichTextSource("", tuple(problems) or (
            "the markup around the merge fields is not allowed (a merge field must stand in text)",), fatal=True)
    cleaned_pieces = []
    for index, part in enumerate(_PLACEHOLDER.split(cleaned)):
        cleaned_pieces.append(tags[int(part)] if index % 2 else part)
    try:
        source = build_source(cleaned_pieces, protect_braces)
    except TagBoundaryError as exc:
        return RichTextSource("", (str(exc),), fatal=True)
    return RichTextSource(source, tuple(problems))


def clean_static_html(html):
    """Rich text without merge fields (a layout's header and footer), cleaned the same way."""
    return _clean_static(html or "")


@functools.lru_cache(maxsize=256)
def _clean_static(html):
    return _CLEANER.clean(html)


__all__ = ["rich_text_source", "clean_static_html", "RichTextSource", "Profile", "CONTENT", "AGENT_TEXT",
           "AGENT_TEXT_WITH_LINKS", "ALLOWED_TAGS", "ALLOWED_ATTRIBUTES",
           "URL_SCHEMES"]
