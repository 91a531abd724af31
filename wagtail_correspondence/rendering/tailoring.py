"""What an agent may change in a letter, within the bounds its template sets.

A template marks fragments as tailorable (``TailorableFragmentBlock``: edit the wording,
leave it out, or either) and offers zones of approved fragments (``FragmentZoneBlock``: add,
remove, reorder, choose one, page breaks). Every other fragment is locked. This module checks
what an agent asks for against those bounds and prepares it for the letter renderer; it is
the one place these rules live, for the builder, the API and batches alike.

An edit is rich text limited to the letter's styles (bold, italic, paragraphs, lists; links
only where the template allows them), so pasted Word or HTML is cleaned to that. Its merge
fields stay merge fields: a tag of the approved wording may be kept or moved, and plain
``{{ field }}`` outputs of the dictionary's fields may be added; anything else (``{% if %}``,
loops) is refused. The edit is compiled in the same sandbox as authored content, under the
same work budget. An edit records the approved revision it started from: if the approved
wording changed since, the letter asks the agent to look again.
"""

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _
from wagtail.rich_text import expand_db_html

from ..blocks import ANY_ORDER, CHOOSE_ONE, EDIT, EDIT_OR_REMOVE, LISTED_ORDER, REMOVE
from .merge_tags import Tag, split_merge_tags
from .redline import text_of
from .references import referenced_fields
from .richtext import AGENT_TEXT, AGENT_TEXT_WITH_LINKS, rich_text_source
from .sandbox import MergeError, parse_template

EDITS, ZONES = "edits", "zones"
PAGE_BREAK = "page_break"
# The most HTML an edit may send, whatever its text length (markup included).
MAX_EDIT_HTML = 200_000


def may_edit(block):
    return block["agents_may"] in (EDIT, EDIT_OR_REMOVE)


def may_remove(block):
    return block["agents_may"] in (REMOVE, EDIT_OR_REMOVE)


def profile_for(block):
    return AGENT_TEXT_WITH_LINKS if block["allow_links"] else AGENT_TEXT


def editable_html(body):
    """The approved wording of a fragment body as HTML an agent edits (rich text blocks
    joined), or None when the body holds anything else (a list, a table, a condition), which
    an edit of its text would lose."""
    parts = []
    for child in body:
        if child.block_type != "rich_text":
            return None
        parts.append(expand_db_html(child.value.source))
    return "\n".join(parts)


@dataclass(frozen=True)
class Edit:
    """What the agent asked for one tailorable fragment."""

    html: str = ""
    removed: bool = False
    based_on: int | None = None  # the approved revision the agent started from

    def as_dict(self):
        value = {"removed": True} if self.removed else {"html": self.html}
        if self.based_on is not None:
            value["based_on"] = self.based_on
        return value


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


def parse_edits(raw):
    """{name: Edit} from a request's ``edits`` object, and the problems of its shape."""
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, [Problem(EDITS, _("Edits must be an object of paragraph name → edit."))]
    edits, problems = {}, []
    for name, value in raw.items():
        field = f"{EDITS}.{name}"
        if not isinstance(value, dict) or set(value) - {"html", "removed", "based_on"}:
            problems.append(Problem(field, _('An edit is {"html": "…"} or {"removed": true}, with "based_on" '
                                             '(the approved revision it started from) if known.')))
            continue
        removed, html, based_on = value.get("removed", False), value.get("html"), value.get("based_on")
        if not isinstance(removed, bool) or (html is not None and not isinstance(html, str)) or (
                based_on is not None and (not isinstance(based_on, int) or isinstance(based_on, bool))):
            problems.append(Problem(field, _("“removed” must be true or false, “html” text and “based_on” a "
                                             "revision number.")))
        elif removed == (html is not None):
            problems.append(Problem(field, _("Give either the edited “html” or “removed”: true.")))
        elif html is not None and len(html) > MAX_EDIT_HTML:
            problems.append(Problem(field, _("The edit is too long.")))
        else:
            edits[name] = Edit(html=html or "", removed=removed, based_on=based_on)
    return edits, problems


def cleaned_edit(html, block):
    """The edit's HTML cleaned to the styles the block allows (pasted Word or HTML included)."""
    return profile_for(block).cleaner.clean(expand_db_html(html or ""))


def _approved_tags(approved_html):
    return {piece.text for piece in split_merge_tags(approved_html, entities=True) if isinstance(piece, Tag)}


def _normalised(source):
    return re.sub(r"\s+", " ", source).strip()


@dataclass(frozen=True)
class PreparedEdit:
    """An edit ready to render: ``source`` is template source; ``changed`` is False when the
    agent's text is the approved wording after all (no edit is kept then)."""

    source: str
    html: str
    changed: bool


def prepare_edit(edit, block, approved_html, field_index):
    """(PreparedEdit or None, [messages]) for an edit of ``block`` whose approved wording is
    ``approved_html``."""
    profile = profile_for(block)
    html = cleaned_edit(edit.html, block)
    prepared = rich_text_source(html, profile)
    if prepared.fatal:
        return None, list(prepared.problems)
    messages = []
    length = len(text_of(html))
    if not length:
        return None, [_("The edited text is empty: leave the paragraph out instead, if the template allows it.")]
    if length > block["max_length"]:
        messages.append(_("The text has %(length)s characters; at most %(max)s are allowed.") % {
            "length": length, "max": block["max_length"]})
    allowed_tags = _approved_tags(approved_html)
    for piece in split_merge_tags(html, entities=True):
        if isinstance(piece, Tag) and piece.text not in allowed_tags and not piece.text.startswith("{{"):
            messages.append(_("Only merge fields such as {{ customer.first_name }} may be added to approved "
                              "wording; “%(tag)s” may not.") % {"tag": piece.text[:60]})
    if messages:
        return None, messages
    try:
        tree = parse_template(prepared.source)
    except MergeError as exc:
        return None, [exc.message]
    for reference in referenced_fields(tree):
        message = field_index.explain_path(reference.path)
        if message:
            messages.append(str(message))
    if messages:
        return None, messages
    approved = rich_text_source(cleaned_edit(approved_html, block), profile)
    changed = _normalised(prepared.source) != _normalised(approved.source)
    return PreparedEdit(prepared.source, html, changed), []


# Zones ------------------------------------------------------------------------------------


def zone_default(zone, key_of):
    """The keys a zone starts with when the agent has not changed it."""
    keys = [key_of(fragment) for fragment in zone["fragments"] if fragment is not None]
    keys = [key for key in keys if key]
    if zone["arrangement"] == CHOOSE_ONE:
        return keys[:1]
    return keys if zone["start_with"] == "all" else []


def check_zone(zone, entries, key_of):
    """The problems of ``entries`` (fragment keys and "page_break") for ``zone``, each a message."""
    if not isinstance(entries, list) or not all(isinstance(entry, str) for entry in entries):
        return [_("A zone is a list of fragment keys (and “page_break”).")]
    listed = [key_of(fragment) for fragment in zone["fragments"] if fragment is not None]
    problems = []
    keys = [entry for entry in entries if entry != PAGE_BREAK]
    unknown = [key for key in keys if key not in listed]
    if unknown:
        problems.append(_("%(keys)s cannot be used here; the template offers: %(offered)s.") % {
            "keys": ", ".join(unknown), "offered": ", ".join(key for key in listed if key)})
    if len(set(keys)) != len(keys):
        problems.append(_("A fragment appears twice."))
    if PAGE_BREAK in entries and not zone["page_breaks"]:
        problems.append(_("The template does not allow page breaks here."))
    if zone["arrangement"] == CHOOSE_ONE:
        if len(keys) != 1:
            problems.append(_("Choose exactly one."))
    else:
        if len(keys) < zone["min_count"]:
            problems.append(_("Choose at least %(count)s.") % {"count": zone["min_count"]})
        if zone["max_count"] is not None and len(keys) > zone["max_count"]:
            problems.append(_("Choose at most %(count)s.") % {"count": zone["max_count"]})
        if zone["arrangement"] == LISTED_ORDER and not unknown and keys != sorted(keys, key=listed.index):
            problems.append(_("The template keeps these in the order it lists them."))
    return problems


__all__ = ["EDITS", "ZONES", "PAGE_BREAK", "Edit", "PreparedEdit", "parse_edits", "prepare_edit", "editable_html",
           "may_edit", "may_remove", "zone_default", "check_zone", "ANY_ORDER"]
