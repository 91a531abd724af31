"""Checks and preview rendering of letter templates.

The full letter assembly (pinned revisions, agent input, PDF) builds on these pieces.
"""

from dataclasses import dataclass

from django.utils.html import linebreaks
from markupsafe import Markup, escape

from ..schema import ADDRESS
from .fragments import Problem, lookup_path, record_or_raise, render_fragment_body
from .plans import render_planned
from .sandbox import (
    MergeError,
    evaluate_expression,
    parse_expression,
    parse_template,
    referenced_fields,
    text_to_template,
)

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
        if child.block_type in ("agent_slot", "optional_fragments"):
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

    for fragment, where, position in page.referenced_fragments():
        if not fragment.is_usable:
            state = "expired" if fragment.is_expired else "not approved and live"
            problems.append(TemplateProblem(where, f"the fragment '{fragment}' is {state}", position, "body"))
        elif fragment.data_dictionary_id != page.data_dictionary_id:
            problems.append(TemplateProblem(
                where, f"the fragment '{fragment}' uses the data dictionary '{fragment.data_dictionary}', "
                       f"not '{dictionary}'", position, "body"))
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


class LetterBodyRenderer:
    """Renders a template body: fragments, agent slot text (as data, escaped), the ticked
    optional fragments and the conditional ones whose condition holds.

    ``fragment_body(fragment, where)`` returns the body to render for a referenced fragment:
    its live revision for previews, its pinned revision when a letter is re-rendered.
    ``problems``, when given, collects what cannot be rendered instead of raising.
    """

    def __init__(self, data, *, slot_values=None, optional_choices=None, image_src=None,
                 fragment_body=live_fragment_body, problems=None, use_plans=False):
        self.data = data
        self.use_plans = use_plans and image_src is not None
        self.slot_values = slot_values or {}
        self.optional_choices = optional_choices
        self.image_src = image_src
        self.fragment_body = fragment_body
        self.problems = problems
        self.included_fragments = []  # primary keys, in order of first inclusion

    def fragment(self, fragment, where):
        body = self.fragment_body(fragment, where)
        if fragment.pk not in self.included_fragments:
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
            return [Markup('<div class="page-break"></div>')]
        return []


def render_body(page, data, slot_values=None, optional_choices=None, image_src=None):
    """The body with live fragments; raises MergeError on the first problem."""
    return LetterBodyRenderer(data, slot_values=slot_values, optional_choices=optional_choices,
                              image_src=image_src).render(page)


def recipient_lines(page, data):
    lines = []
    try:
        name = lookup_path(data, page.recipient_name_field) if page.recipient_name_field else ""
    except MergeError:
        name = ""
    if name:
        lines.append(str(name))
    try:
        address = lookup_path(data, page.recipient_address_field)
    except MergeError:
        address = {}
    if isinstance(address, dict):
        postal = " ".join(part for part in (address.get("postal_code"), address.get("city")) if part)
        parts = (address.get("line1"), address.get("line2"), postal, address.get("country"))
        lines.extend(str(line) for line in parts if line)
    return lines


__all__ = ["check_letter_template", "render_body", "TemplateProblem", "LetterBodyRenderer"]
