"""Checks and preview rendering of letter templates.

The full letter assembly (pinned revisions, agent input, PDF) builds on these pieces.
"""

from dataclasses import dataclass

from django.utils.html import linebreaks
from markupsafe import Markup, escape

from .. import postal
from ..blocks import CHOOSE_ONE
from ..schema import ADDRESS
from . import formatting
from .fragments import Problem, lookup_path, record_or_raise, render_fragment_body
from .plans import render_planned
from .sandbox import (
    MergeError,
    evaluate_expression,
    parse_expression,
    parse_template,
    referenced_fields,
    render_source,
    text_to_template,
)
from .tailoring import PAGE_BREAK, editable_html, may_edit

TEXT_FIELDS = ("subject", "email_subject", "email_intro", "sms_text", "email_pdf_password")


@dataclass(frozen=True)
class TemplateProblem(Problem):
    field: str = "body"


def _check_text(source, field_index, field, label, problems, *, html):
    if not source:
        return
    try:
        tree = parse_template(text_to_template(source) if html else source)
    except MergeError as exc:
        problems.append(TemplateProblem(label, exc.message, None, field))
        return
    for reference in referenced_fields(tree):
        message = field_index.explain_path(reference.path)
        if message:
            problems.append(TemplateProblem(label, str(message), None, field))


def check_letter_template(page):
    problems = []
    dictionary = page.data_dictionary
    field_index = dictionary.field_index()

    if page.layout_id and not page.layout.is_usable:
        problems.append(TemplateProblem("Layout", f"the layout '{page.layout}' is not approved and live", None,
                                        "layout"))
    for field in TEXT_FIELDS:
        label = str(page._meta.get_field(field).verbose_name).capitalize()
        _check_text(getattr(page, field), field_index, field, label, problems, html=field == "subject")

    name_spec = field_index.get(page.recipient_name_field)
    if page.recipient_name_field and name_spec is None:
        problems.append(TemplateProblem("Recipient name field", f"unknown field '{page.recipient_name_field}'",
                                        None, "recipient_name_field"))
    address_spec = field_index.get(page.recipient_address_field)
    if page.recipient_address_field and (address_spec is None or address_spec.type != ADDRESS):
        problems.append(TemplateProblem("Recipient address field",
                                        f"'{page.recipient_address_field}' is not an address field of "
                                        f"'{dictionary}'", None, "recipient_address_field"))

    names = {}
    for position, child in enumerate(page.body):
        where = f"Block {position + 1} ({child.block.label})"
        if child.block_type in ("agent_slot", "optional_fragments", "tailorable_fragment", "fragment_zone"):
            name = child.value["name"]
            if name in names:
                problems.append(TemplateProblem(where, f"the name '{name}' is already used by {names[name]}",
                                                position, "body"))
            names.setdefault(name, where)
        if child.block_type == "conditional_include":
            try:
                expr = parse_expression(child.value["condition"])
            except MergeError as exc:
                problems.append(TemplateProblem(f"{where} › condition", exc.message, position, "body"))
            else:
                for reference in referenced_fields(expr):
                    message = field_index.explain_path(reference.path)
                    if message:
                        problems.append(TemplateProblem(f"{where} › condition", str(message), position, "body"))

    problems += _check_tailoring(page)
    for fragment, where, position in page.referenced_fragments():
        if not fragment.is_usable:
            state = "expired" if fragment.is_expired else "not approved and live"
            problems.append(TemplateProblem(where, f"the fragment '{fragment}' is {state}", position, "body"))
        elif fragment.data_dictionary_id != page.data_dictionary_id:
            problems.append(TemplateProblem(
                where, f"the fragment '{fragment}' uses the data dictionary '{fragment.data_dictionary}', "
                       f"not '{dictionary}'", position, "body"))
    return problems


def _check_tailoring(page):
    """A tailorable fragment must be editable as text; a zone must be able to meet its counts."""
    problems = []
    for position, child in enumerate(page.body):
        where = f"Block {position + 1} ({child.block.label})"
        value = child.value
        if child.block_type == "tailorable_fragment" and may_edit(value) and value["fragment"] is not None:
            live = value["fragment"].live_object()
            if live is not None and editable_html(live.body) is None:
                problems.append(TemplateProblem(where, f"the fragment '{value['fragment']}' holds more than rich "
                                                       "text (a list, table, image or condition): agents could "
                                                       "only leave it out, not edit it", position, "body"))
        elif child.block_type == "fragment_zone":
            listed = [fragment.pk for fragment in value["fragments"] if fragment is not None]
            if len(set(listed)) != len(listed):
                problems.append(TemplateProblem(where, "a fragment is listed twice", position, "body"))
            if value["arrangement"] != CHOOSE_ONE and value["min_count"] > len(listed):
                problems.append(TemplateProblem(where, f"at least {value['min_count']} are required but only "
                                                       f"{len(listed)} are listed", position, "body"))
    return problems


def live_fragment_body(fragment, where):
    """The body of a fragment's live revision; the default way a body finds its fragments."""
    live = fragment.live_object() if fragment is not None else None
    if live is None:
        raise MergeError(f"the fragment '{fragment}' is not approved and live", where)
    return live.body


def slot_html(text):
    return Markup(linebreaks(str(escape(text)), autoescape=False))


def slot_text(slot, slot_values):
    """What the agent typed, or the slot's default text when they typed nothing."""
    value = (slot_values or {}).get(slot["name"])
    return slot["default_text"] or "" if value is None else value


def optional_group_chosen(group, optional_choices):
    """``optional_choices`` None means "as the template proposes" (the preselected groups)."""
    return group["preselected"] if optional_choices is None else group["name"] in optional_choices


@dataclass(frozen=True)
class Tailored:
    """A tailorable fragment the agent changed: the approved wording and theirs, as rendered
    for this letter (``html`` is empty when they left it out)."""

    name: str
    label: str
    fragment_id: int
    approved_html: str
    html: str
    removed: bool


# What the renderer receives for a tailorable fragment the agent left out.
REMOVED = "removed"
PAGE_BREAK_HTML = Markup('<div class="page-break"></div>')


def zone_start(zone):
    """The fragments a zone holds when the agent has not arranged it."""
    listed = [fragment for fragment in zone["fragments"] if fragment is not None]
    if zone["arrangement"] == CHOOSE_ONE:
        return listed[:1]
    return listed if zone["start_with"] == "all" else []


class LetterBodyRenderer:
    """Renders a template body: fragments, agent slot text (as data, escaped), the ticked
    optional fragments and the conditional ones whose condition holds.

    ``fragment_body(fragment, where)`` returns the body to render for a referenced fragment:
    its live revision for previews, its pinned revision when a letter is re-rendered.
    ``problems``, when given, collects what cannot be rendered instead of raising.
    ``edits``: tailorable fragment name → a checked edit (``tailoring.PreparedEdit``) or
    ``REMOVED``; ``zones``: zone name → fragments and ``PAGE_BREAK`` in the agent's order
    (checked by the assembly); a zone not named holds what the template starts it with.
    """

    def __init__(self, data, *, slot_values=None, optional_choices=None, image_src=None,
                 fragment_body=live_fragment_body, problems=None, use_plans=False, edits=None, zones=None):
        self.data = data
        self.use_plans = use_plans and image_src is not None
        self.slot_values = slot_values or {}
        self.optional_choices = optional_choices
        self.image_src = image_src
        self.fragment_body = fragment_body
        self.problems = problems
        self.included_fragments = []  # primary keys, in order of first inclusion
        self.edits = edits or {}
        self.zones = zones or {}
        self.tailored = []  # Tailored, in the order of the body

    def fragment(self, fragment, where, include=True):
        body = self.fragment_body(fragment, where)
        if include and fragment.pk not in self.included_fragments:
            self.included_fragments.append(fragment.pk)
        if self.use_plans:
            html = render_planned(body, self.data, self.image_src)
            if html is not None:
                return html
        kwargs = {"image_src": self.image_src} if self.image_src else {}
        return render_fragment_body(body, self.data, problems=self.problems, prefix=f"{where} › {fragment} › ",
                                    **kwargs)

    def render(self, page):
        parts = []
        for position, child in enumerate(page.body):
            where = f"Block {position + 1} ({child.block.label})"
            try:
                parts.extend(self.render_block(child.block_type, child.value, where))
            except MergeError as exc:
                parts.append(record_or_raise(self.problems, exc, where, position))
        return Markup("\n").join(parts)

    def render_block(self, block_type, value, where):
        if block_type == "fragment":
            return [self.fragment(value, where)]
        if block_type == "agent_slot":
            text = slot_text(value, self.slot_values)
            return [Markup('<div class="agent-slot">') + slot_html(text) + Markup("</div>")] if text else []
        if block_type == "optional_fragments":
            if optional_group_chosen(value, self.optional_choices):
                return [self.fragment(fragment, where) for fragment in value["fragments"]]
            return []
        if block_type == "conditional_include":
            if evaluate_expression(value["condition"], self.data):
                return [self.fragment(value["fragment"], where)]
            return []
        if block_type == "page_break":
            return [PAGE_BREAK_HTML]
        if block_type == "tailorable_fragment":
            return self.tailorable_fragment(value, where)
        if block_type == "fragment_zone":
            entries = self.zones.get(value["name"])
            entries = zone_start(value) if entries is None else entries
            return [PAGE_BREAK_HTML if entry == PAGE_BREAK else self.fragment(entry, where) for entry in entries]
        return []

    def tailorable_fragment(self, value, where):
        edit = self.edits.get(value["name"])
        if edit is None:
            return [self.fragment(value["fragment"], where)]
        approved = self.fragment(value["fragment"], where, include=edit != REMOVED)
        if edit == REMOVED:
            self.tailored.append(Tailored(value["name"], value["label"], value["fragment"].pk, approved, "", True))
            return []
        # The agent's text as the sandbox renders authored rich text: merge fields filled and
        # escaped, under the letter's work budget.
        html = Markup(render_source(edit.source, self.data))
        self.tailored.append(Tailored(value["name"], value["label"], value["fragment"].pk, approved, html, False))
        return [html]


def render_body(page, data, slot_values=None, optional_choices=None, image_src=None):
    """The body with live fragments; raises MergeError on the first problem."""
    return LetterBodyRenderer(data, slot_values=slot_values, optional_choices=optional_choices,
                              image_src=image_src).render(page)


def recipient_lines(page, data):
    """The address window: the addressee and their address as the post of its country expects,
    in the letter's locale (the render's)."""
    try:
        name = lookup_path(data, page.recipient_name_field) if page.recipient_name_field else ""
    except MergeError:
        name = ""
    try:
        address = lookup_path(data, page.recipient_address_field)
    except MergeError:
        address = {}
    if not isinstance(address, dict):
        return [str(name)] if name else []
    return postal.address_lines(address, formatting.current_locale(), name=str(name or ""))


__all__ = ["check_letter_template", "render_body", "TemplateProblem", "LetterBodyRenderer"]
