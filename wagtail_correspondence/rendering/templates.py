"""Checks and preview rendering of letter templates.

The full letter assembly (pinned revisions, agent input, PDF) builds on these pieces.
"""

from dataclasses import dataclass

from django.utils.html import linebreaks
from markupsafe import Markup, escape

from ..schema import ADDRESS
from .document import render_letter_document
from .fragments import Problem, lookup_path, render_fragment_body
from .sandbox import (
    MergeError,
    evaluate_expression,
    parse_expression,
    parse_template,
    referenced_fields,
    render_source,
    text_to_template,
)

TEXT_FIELDS = ("subject", "email_subject", "email_intro", "sms_text")


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


def render_live_fragment(fragment, data, where, image_src=None):
    live = fragment.live_object() if fragment is not None else None
    if live is None:
        raise MergeError(f"the fragment '{fragment}' is not approved and live", where)
    kwargs = {"image_src": image_src} if image_src else {}
    return render_fragment_body(live.body, data, **kwargs)


def slot_html(text):
    return Markup(linebreaks(str(escape(text)), autoescape=False))


def render_body(page, data, slot_values=None, optional_choices=None, image_src=None):
    """The letter body: fragments (live revisions), agent slot text (as data, escaped), the
    ticked optional fragments and the conditional ones whose condition holds."""
    slot_values = slot_values or {}
    parts = []
    for position, child in enumerate(page.body):
        where = f"Block {position + 1} ({child.block.label})"
        value = child.value
        if child.block_type == "fragment":
            parts.append(render_live_fragment(value, data, where, image_src))
        elif child.block_type == "agent_slot":
            text = slot_values.get(value["name"], value["default_text"]) or ""
            if text:
                parts.append(Markup('<div class="agent-slot">') + slot_html(text) + Markup("</div>"))
        elif child.block_type == "optional_fragments":
            chosen = value["preselected"] if optional_choices is None else value["name"] in optional_choices
            if chosen:
                parts.extend(render_live_fragment(fragment, data, where, image_src) for fragment in value["fragments"])
        elif child.block_type == "conditional_include":
            if evaluate_expression(value["condition"], data):
                parts.append(render_live_fragment(value["fragment"], data, where, image_src))
        elif child.block_type == "page_break":
            parts.append(Markup('<div class="page-break"></div>'))
    return Markup("\n").join(parts)


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


def render_template_preview(page, data):
    layout = page.layout.live_object() if page.layout_id else None
    if layout is None:
        raise MergeError(f"the layout '{page.layout}' is not approved and live", "Layout")
    data = page.data_dictionary.coerce_payload(data)  # idempotent: typed values stay typed
    body = render_body(page, data)
    subject = render_source(text_to_template(page.subject), data) if page.subject else ""
    return render_letter_document(layout=layout, body_html=body, recipient_lines=recipient_lines(page, data),
                                  title=page.title, subject=Markup(subject), language=page.language)


__all__ = ["check_letter_template", "render_body", "render_template_preview", "TemplateProblem"]
