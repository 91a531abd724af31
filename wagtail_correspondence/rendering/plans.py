"""Compiled plans: a fragment body compiled once into one sandboxed template.

The walker in ``fragments.py`` renders a body block by block: every rich-text block, table
cell, list column and condition is a render of its own, and each rich-text block is cleaned
again for every letter. A plan does that work once per fragment revision: the body's blocks
become one Jinja syntax tree (each block in a scope of its own, so a ``{% set %}`` in one
block is not seen by the next, as when each was its own render), the static markup the
walker writes around them (table and list wrappers, images, captions, page breaks) is
written into the tree as template data, and the tree is compiled by the same sandbox. Per
letter, one render.

The plan is an optimisation of the walker, never a second definition of the content: its
output is the walker's output, byte for byte, whenever it renders without an error
(``tests/test_plans.py`` checks that over every block type). When anything goes wrong — a
missing field used in an expression, a list that is not a list, a block over its work budget
— the plan's attempt is undone (work counted, output counted, missing fields recorded) and
the walker renders the body, so previews still list every problem in place.

A plan belongs to the body it was compiled from: bodies of revisions are rebuilt once and
kept (``assembly.revision_objects``), so the plan of a revision is compiled once per process
and a newly published revision gets a new plan. (What a rich-text link points to is also read
when the plan is compiled: a page moved since keeps its old address in plans compiled before.)

Everything the sandbox guarantees holds: the authored parts are the same parsed, checked
trees; merged values are escaped on output; the work budget is charged per block as the
walker charges it per render.
"""

from django.utils.html import format_html, format_html_join
from jinja2 import nodes
from jinja2.exceptions import TemplateError
from jinja2.parser import Parser
from markupsafe import Markup, escape

from . import budget as work
from .errors import MergeError
from .fragments import rich_text_template
from .missing import _missing_fields
from .refusals import refuse_unsafe
from .sandbox import _render_limited, get_environment, text_to_template

_PLANS_ATTRIBUTE = "_correspondence_plans"


class _NotPlannable(Exception):
    """The body holds something the plan does not compile (the walker renders it)."""


def _data(text):
    return nodes.TemplateData(str(text))


def _output(*children):
    return nodes.Output(list(children))


def _start_render():
    """Where the walker starts a render of its own: the plan charges and limits the same."""
    return nodes.ExprStmt(nodes.Call(nodes.EnvironmentAttribute("plan_render_started"), [], [], None, None))


class _Compiler:
    """Turns a body into nodes, mirroring ``fragments.BodyRenderer`` block for block."""

    def __init__(self, image_src):
        self.env = get_environment()
        self.image_src = image_src
        self.lists = 0

    def template(self, source):
        tree = self.env.parse(source)
        refuse_unsafe(tree)
        return [_start_render(), *tree.body]

    def expression(self, source):
        parser = Parser(self.env, source, state="variable")
        expr = parser.parse_expression()
        if not parser.stream.eos:
            raise _NotPlannable
        refuse_unsafe(expr)
        return expr

    def stream(self, stream):
        body = []
        for position, child in enumerate(stream):
            if position:
                body.append(_output(_data("\n")))
            body.append(nodes.Scope(self.block(child.block_type, child.value)))
        return body

    def block(self, block_type, value):
        if block_type == "rich_text":
            return self.template(rich_text_template(value))
        if block_type == "conditional":
            test = self.expression(value["condition"])
            return [_start_render(), nodes.If(test, self.stream(value["content"]), [],
                                              self.stream(value["otherwise"] or []))]
        if block_type == "repeating_list":
            return self.repeating_list(value)
        if block_type == "image":
            return [_output(_data(self.image(value)))]
        if block_type == "table":
            return self.table(value)
        if block_type == "page_break":
            return [_output(_data('<div class="page-break"></div>'))]
        raise _NotPlannable

    def repeating_list(self, value):
        # The list is looked up by its path in the letter's data, as ``lookup_path`` does
        # (dict keys only, never attributes); anything but a list stops the plan.
        path = value["source"].strip()
        first, _dot, rest = path.partition(".")
        self.lists += 1
        items = nodes.Name(f"_plan_items_{self.lists}", "store")
        lookup = nodes.Call(nodes.EnvironmentAttribute("plan_list"), [nodes.Name(first, "load"), nodes.Const(rest)],
                            [], None, None)
        item_name = value["item_name"] or "item"
        if value["style"] == "table":
            head = format_html_join("", "<th>{}</th>", ((column["heading"],) for column in value["columns"]))
            row = [_output(_data("<tr>"))]
            for column in value["columns"]:
                row += [_output(_data("<td>")), *self.template(text_to_template(column["value"])),
                        _output(_data("</td>"))]
            row.append(_output(_data("</tr>")))
            opening = format_html('<table class="merge-list"><thead><tr>{}</tr></thead><tbody>', head)
            closing = "</tbody></table>"
        else:
            tag = "ol" if value["style"] == "numbered" else "ul"
            row = [_output(_data("<li>")), *self.template(rich_text_template(value["item_text"])),
                   _output(_data("</li>"))]
            opening, closing = f'<{tag} class="merge-list">', f"</{tag}>"
        loop = nodes.For(nodes.Name(item_name, "store"), nodes.Name(items.name, "load"), row, [], None, False)
        empty = format_html('<p class="list-empty">{}</p>', value["empty_text"]) if value["empty_text"] else ""
        return [
            nodes.Assign(items, lookup),
            nodes.If(nodes.Name(items.name, "load"), [_output(_data(opening)), loop, _output(_data(closing))], [],
                     [_output(_data(empty))] if empty else []),
        ]

    def image(self, value):
        image = value["image"]
        if image is None:
            return ""
        return format_html('<figure class="image align-{}"><img src="{}" alt="{}" style="width: {}mm"></figure>',
                           value["alignment"], self.image_src(image), value["alt_text"], int(value["width_mm"]))

    def table(self, value):
        value = value or {}
        header_row = value.get("first_row_is_table_header")
        header_col = value.get("first_col_is_header")
        caption = format_html("<caption>{}</caption>", value["table_caption"]) if value.get("table_caption") else ""
        body = [_output(_data(Markup('<table class="content-table">') + escape(caption)))]
        for row_number, row in enumerate(value.get("data") or []):
            body.append(_output(_data("<tr>")))
            for column_number, cell in enumerate(row or []):
                tag = "th" if (header_row and row_number == 0) or (header_col and column_number == 0) else "td"
                body += [_output(_data(f"<{tag}>")), *self.template(text_to_template(cell or "")),
                         _output(_data(f"</{tag}>"))]
            body.append(_output(_data("</tr>")))
        body.append(_output(_data("</table>")))
        return body


def compile_body(body, image_src):
    """The body as one sandboxed template, or None when it holds what only the walker renders
    (content that does not parse, or fails the checks: the walker reports it)."""
    env = get_environment()
    try:
        tree = nodes.Template(_Compiler(image_src).stream(body), lineno=1)
        tree.set_environment(env)
        return env.from_string(tree)
    except (_NotPlannable, MergeError, TemplateError, KeyError, TypeError, ValueError):
        return None


def body_plan(body, image_src):
    """The plan of ``body`` for images given by ``image_src``, compiled on first use."""
    plans = getattr(body, _PLANS_ATTRIBUTE, None)
    if plans is None:
        plans = {}
        try:
            setattr(body, _PLANS_ATTRIBUTE, plans)
        except AttributeError:  # a body that cannot hold its plan is compiled each time
            pass
    if image_src not in plans:
        plans[image_src] = compile_body(body, image_src)
    return plans[image_src]


class _Attempt:
    """Undoes what a failed plan render counted, so the walker starts where the plan did."""

    def __init__(self):
        self.budget = work.current()
        self.used = self.budget.used if self.budget else 0
        self.output = self.budget.output if self.budget else 0
        self.missing = _missing_fields.get()
        self.missing_count = len(self.missing) if self.missing is not None else 0

    def undo(self):
        if self.budget is not None:
            self.budget.used, self.budget.output = self.used, self.output
            self.budget._set_next_check()
        if self.missing is not None:
            for path in list(self.missing.paths)[self.missing_count:]:
                del self.missing.paths[path]


def render_planned(body, data, image_src):
    """The body rendered by its plan, or None when the walker must render it."""
    plan = body_plan(body, image_src)
    if plan is None:
        return None
    with work.letter_budget():
        attempt = _Attempt()
        try:
            with work.render_budget():
                return Markup(_render_limited(plan, data))
        except Exception:  # noqa: BLE001 (any failure: the walker renders and explains it)
            attempt.undo()
            return None


__all__ = ["compile_body", "body_plan", "render_planned"]
