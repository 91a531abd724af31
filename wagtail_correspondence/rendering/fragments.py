"""Checking and rendering fragment bodies (the StreamField of a Fragment).

One walker knows every block type, so the check on save and the render at preview or
generation time can never disagree about what a block reads.
"""

from dataclasses import dataclass, field

from django.utils.html import format_html, format_html_join
from markupsafe import Markup, escape
from wagtail.rich_text import expand_db_html

from ..schema import LIST
from .budget import letter_budget
from .richtext import rich_text_source
from .sandbox import (
    MergeError,
    evaluate_expression,
    parse_expression,
    parse_template,
    record_missing,
    referenced_fields,
    render_source,
    text_to_template,
)


@dataclass(frozen=True)
class Problem:
    """Something wrong in authored content: where, and what. ``block_index`` is the top-level
    block (0-based), for highlighting it in the editor."""

    location: str
    message: str
    block_index: int | None = None
    missing_data: bool = field(default=False, kw_only=True)

    def __str__(self):
        return f"{self.location}: {self.message}" if self.location else self.message


def block_label(block_value, position):
    return f"Block {position + 1} ({block_value.block.label})"


def prepared_rich_text(rich_text):
    """The rich text as template source, with what its markup does wrong (``richtext.py``)."""
    return rich_text_source(expand_db_html(rich_text.source if hasattr(rich_text, "source") else str(rich_text)))


def rich_text_template(rich_text):
    """The template source to render: markup outside the allow-list cleaned away; refused
    only when its merge tags stand where the cleaning cannot keep them."""
    prepared = prepared_rich_text(rich_text)
    if prepared.fatal:
        raise MergeError(prepared.problems[0])
    return prepared.source


def lookup_path(data, path):
    value = data
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            record_missing(path)
            raise MergeError(f"missing data: '{path}' is not in the data", missing_data=True)
    return value


def problem_marker(problem):
    """Shown in previews where a block could not be rendered; never in a generated letter,
    which is refused while any problem remains."""
    return format_html('<div class="render-problem" role="alert">{}</div>', str(problem))


def record_or_raise(problems, exc, location, block_index=None):
    """A block failed: raise when rendering strictly (``problems`` is None), else record the
    problem and return the marker that stands in the block's place."""
    if not exc.location:
        exc.location = location
    if problems is None:
        raise exc
    problem = Problem(exc.location, exc.message, block_index, missing_data=exc.missing_data)
    problems.append(problem)
    return problem_marker(problem)


# Checking ----------------------------------------------------------------------------


class BodyChecker:
    def __init__(self, field_index):
        self.field_index = field_index
        self.problems = []

    def add(self, location, message, block_index):
        self.problems.append(Problem(location, str(message), block_index))

    def check_template(self, source, location, block_index, bindings=None):
        try:
            tree = parse_template(source)
        except MergeError as exc:
            self.add(location, exc.message, block_index)
            return
        self.check_references(referenced_fields(tree, bindings), location, block_index)

    def check_expression(self, source, location, block_index, bindings=None):
        if not (source or "").strip():
            self.add(location, "the condition is empty", block_index)
            return
        try:
            expr = parse_expression(source)
        except MergeError as exc:
            self.add(location, exc.message, block_index)
            return
        self.check_references(referenced_fields(expr, bindings), location, block_index)

    def check_references(self, references, location, block_index):
        for reference in references:
            message = self.field_index.explain_path(reference.path)
            if message:
                self.add(location, message, block_index)

    def check_stream(self, stream, prefix="", top_index=None):
        for position, child in enumerate(stream):
            index = position if top_index is None else top_index
            location = f"{prefix}{block_label(child, position)}"
            self.check_block(child.block_type, child.value, location, index)

    def check_rich_text(self, rich_text, location, index, bindings=None):
        prepared = prepared_rich_text(rich_text)
        for problem in prepared.problems:
            self.add(location, problem, index)
        if not prepared.fatal:
            self.check_template(prepared.source, location, index, bindings)

    def check_block(self, block_type, value, location, index):
        if block_type == "rich_text":
            self.check_rich_text(value, location, index)
        elif block_type == "conditional":
            self.check_expression(value["condition"], f"{location} › condition", index)
            self.check_stream(value["content"], f"{location} › content › ", index)
            self.check_stream(value["otherwise"] or [], f"{location} › otherwise › ", index)
        elif block_type == "repeating_list":
            self.check_repeating_list(value, location, index)
        elif block_type == "table":
            for row_number, row in enumerate((value or {}).get("data") or [], start=1):
                for column_number, cell in enumerate(row or [], start=1):
                    if cell:
                        self.check_template(text_to_template(cell), f"{location} › row {row_number}, column "
                                            f"{column_number}", index)

    def check_repeating_list(self, value, location, index):
        source = (value["source"] or "").strip()
        spec = self.field_index.get(source)
        if spec is None:
            self.add(f"{location} › source", f"unknown list field '{source}'", index)
            return
        if spec.type != LIST:
            self.add(f"{location} › source", f"'{source}' is a {spec.type} field, not a list", index)
            return
        bindings = {value["item_name"] or "item": source}
        for number, column in enumerate(value["columns"] or [], start=1):
            self.check_template(text_to_template(column["value"]), f"{location} › column {number}", index, bindings)
        if value["item_text"] and value["item_text"].source.strip():
            self.check_rich_text(value["item_text"], f"{location} › item text", index, bindings)


def check_fragment_body(body, field_index):
    checker = BodyChecker(field_index)
    checker.check_stream(body)
    return checker.problems


# Rendering ---------------------------------------------------------------------------


def default_image_src(image):
    return image.get_rendition("max-1600x1600").url


class BodyRenderer:
    """Renders a body. With ``problems`` (a list), a block that cannot be rendered is
    recorded there and replaced by a marker, so a preview shows everything at once;
    without, the first problem raises MergeError."""

    def __init__(self, data, image_src=default_image_src, problems=None):
        self.data = data
        self.image_src = image_src
        self.problems = problems

    def render_stream(self, stream, prefix=""):
        parts = []
        for position, child in enumerate(stream):
            location = f"{prefix}{block_label(child, position)}"
            try:
                parts.append(self.render_block(child.block_type, child.value, location))
            except MergeError as exc:
                parts.append(record_or_raise(self.problems, exc, location))
        return Markup("\n").join(parts)

    def render_block(self, block_type, value, location):
        if block_type == "rich_text":
            return Markup(render_source(rich_text_template(value), self.data))
        if block_type == "conditional":
            if evaluate_expression(value["condition"], self.data):
                return self.render_stream(value["content"], f"{location} › content › ")
            return self.render_stream(value["otherwise"] or [], f"{location} › otherwise › ")
        if block_type == "repeating_list":
            return self.render_repeating_list(value)
        if block_type == "image":
            return self.render_image(value)
        if block_type == "table":
            return self.render_table(value)
        if block_type == "page_break":
            return Markup('<div class="page-break"></div>')
        raise MergeError(f"unknown block type '{block_type}'", location)

    def render_repeating_list(self, value):
        items = lookup_path(self.data, value["source"].strip())
        if not isinstance(items, list):
            raise MergeError(f"'{value['source']}' is not a list in the data")
        if not items:
            return format_html('<p class="list-empty">{}</p>', value["empty_text"]) if value["empty_text"] else Markup("")
        item_name = value["item_name"] or "item"
        if value["style"] == "table":
            head = format_html_join("", "<th>{}</th>", ((column["heading"],) for column in value["columns"]))
            rows = []
            for item in items:
                scope = {**self.data, item_name: item}
                cells = Markup("").join(
                    format_html("<td>{}</td>", Markup(render_source(text_to_template(column["value"]), scope)))
                    for column in value["columns"])
                rows.append(format_html("<tr>{}</tr>", cells))
            return format_html('<table class="merge-list"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
                               head, Markup("").join(rows))
        tag = "ol" if value["style"] == "numbered" else "ul"
        source = rich_text_template(value["item_text"])
        entries = Markup("").join(
            format_html("<li>{}</li>", Markup(render_source(source, {**self.data, item_name: item})))
            for item in items)
        return Markup(f'<{tag} class="merge-list">') + entries + Markup(f"</{tag}>")

    def render_image(self, value):
        image = value["image"]
        if image is None:
            return Markup("")
        return format_html('<figure class="image align-{}"><img src="{}" alt="{}" style="width: {}mm"></figure>',
                           value["alignment"], self.image_src(image), value["alt_text"], int(value["width_mm"]))

    def render_table(self, value):
        value = value or {}
        rows = value.get("data") or []
        header_row = value.get("first_row_is_table_header")
        header_col = value.get("first_col_is_header")
        html_rows = []
        for row_number, row in enumerate(rows):
            cells = []
            for column_number, cell in enumerate(row or []):
                content = Markup(render_source(text_to_template(cell or ""), self.data))
                tag = "th" if (header_row and row_number == 0) or (header_col and column_number == 0) else "td"
                cells.append(Markup(f"<{tag}>") + content + Markup(f"</{tag}>"))
            html_rows.append(Markup("<tr>") + Markup("").join(cells) + Markup("</tr>"))
        caption = format_html("<caption>{}</caption>", value["table_caption"]) if value.get("table_caption") else ""
        return Markup('<table class="content-table">') + escape(caption) + Markup("").join(html_rows) + Markup("</table>")


def render_fragment_body(body, data, image_src=default_image_src, problems=None, prefix=""):
    """Inside a letter, its budget is used; on its own (a preview, a comparison), the body has
    a letter's budget, so that its blocks together cannot take longer than a letter's."""
    with letter_budget():
        return BodyRenderer(data, image_src, problems).render_stream(body, prefix)
