"""The merge language: Jinja2 in an immutable sandbox, autoescaped, strict about undefined names.

Only authored content (fragments, template subjects, channel texts) is ever compiled as a
template. Customer data and agent text are passed in as *values*: they are escaped on
output and never evaluated, whatever they contain.

The sandbox renders text, never markup. The only markup in the output is the content's own
static HTML (cleaned to an allow-list, see ``richtext.py``) and what the output step writes
for an address (<br> between its lines) or a missing field's marker. While a template runs,
every value is text: nothing marks a string safe, switches escaping off or captures the
template's HTML as a value, and the output step writes any other value, markup or not, as
escaped text.

Work is bounded before it is done: see ``budget.py`` (units counted per render and per letter)
and ``guards.py`` (what each operation is charged, and the sizes refused before building).
"""

import functools
from itertools import chain

from jinja2 import TemplateSyntaxError, nodes, pass_environment
from jinja2.compiler import CodeGenerator
from jinja2.environment import Template
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import budget as work
from .errors import EVALUATION_ERRORS, EXHAUSTION_ERRORS, MergeError, exhaustion_message
from .formatting import FILTERS, AddressLines
from .guards import (
    MAX_INT_BITS,
    MAX_STRING_LENGTH,
    check_binop,
    check_size,
    checked_concat,
    checked_literal,
    checked_method_arguments,
    checked_result,
    checked_slice,
    COMPARE_UNITS,
    comparison_cost,
    guarded_filters,
    guarded_tests,
    refuse,
    text_weight,
)
from .merge_tags import text_to_template, unescape_merge_tags
from .missing import TrackingUndefined, collect_missing, record_missing, with_paths
from .references import check_references, referenced_fields
from .refusals import refuse_forbidden_nodes, refuse_runaway_constants, refuse_unsafe

# Names the default Jinja namespace offers that content has no use for; `namespace` would
# also let a loop carry state from one iteration to the next.
_REMOVED_GLOBALS = ("cycler", "joiner", "namespace", "lipsum", "dict")
# Values the output step writes as markup of their own (escaped inside): nothing else.
_MARKUP_WRITERS = (TrackingUndefined, AddressLines)

_COMPARISONS = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b, "lteq": lambda a, b: a <= b,
    "gt": lambda a, b: a > b, "gteq": lambda a, b: a >= b, "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}
# What one evaluation of a node costs, in units, where it is not charged as it runs (measured
# with bench/render_budget.py): a lookup in the data or a value written out costs more than
# a name or a constant, which cost next to nothing.
_NODE_UNITS = {nodes.Getattr: 3, nodes.Getitem: 3}
_FREE_NODES = (nodes.Name, nodes.Const, nodes.Keyword, nodes.Pair, nodes.Slice, nodes.TemplateData, nodes.Output,
               nodes.EnvironmentAttribute)
_OUTPUT_UNITS = 8
# A loop that reads ``loop`` (loop.index, loop.last...) steps through Jinja's loop object.
_LOOP_OBJECT_UNITS = 10


def static_cost(body):
    """Units of work one pass over ``body`` costs beyond what is charged as it runs: each node
    evaluated, each value written out, the length of static text."""
    total = 0
    for top in body:
        for node in chain([top], top.find_all(nodes.Node)):
            if isinstance(node, nodes.TemplateData):
                total += len(node.data) // work.CHARS_PER_UNIT
            elif isinstance(node, nodes.Output):
                total += _OUTPUT_UNITS * sum(1 for child in node.nodes if not isinstance(child, nodes.TemplateData))
            elif not isinstance(node, _FREE_NODES):
                total += _NODE_UNITS.get(type(node), 1)
    return total


@pass_environment
def _finalize(environment, value):
    """Every ``{{ }}`` value on its way out: text (a container weighed first), or the few
    values that write markup of their own. A ``Markup`` made somehow inside the template is
    written as the text it holds."""
    kind = type(value)
    if kind is str:
        return value
    if kind in _MARKUP_WRITERS:
        return value
    if isinstance(value, work.CONTAINERS):
        work.charge(text_weight(value) // work.CHARS_PER_UNIT)
    return str(value)


def loop_cost(loop):
    """What one iteration of ``loop`` costs beyond what its body is charged as it runs."""
    body = [*loop.body, *([loop.test] if loop.test is not None else [])]
    uses_loop_object = any(isinstance(name, nodes.Name) and name.name == "loop"
                           for top in body for name in chain([top], top.find_all(nodes.Name)))
    return 1 + static_cost(body) + (_LOOP_OBJECT_UNITS if uses_loop_object else 0)


def _compares_sizes(node):
    """True when a comparison may take time in proportion to its operands' size: ``in`` over
    anything but a literal, or an ordering/equality with no literal side."""
    operands = [node.expr, *(operand.expr for operand in node.ops)]
    for index, operand in enumerate(node.ops):
        left, right = operands[index], operands[index + 1]
        if operand.op in ("in", "notin"):
            if not isinstance(right, nodes.Const):
                return True
        elif not isinstance(left, nodes.Const) and not isinstance(right, nodes.Const):
            return True
    return False


def _literal(node):
    return isinstance(node, (nodes.List, nodes.Tuple, nodes.Dict)) and getattr(node, "ctx", "load") == "load"


def _constant_items(node):
    items = [part for item in node.items for part in ((item.key, item.value) if isinstance(item, nodes.Pair)
                                                      else (item,))]
    return all(isinstance(item, nodes.Const) for item in items)


class _BoundedCodeGenerator(CodeGenerator):
    """Compiles the operations Jinja writes as plain Python (which the sandbox would not see)
    to calls that weigh and charge them: concatenation, comparisons that scan their operands,
    slices, and list, tuple and dict literals holding values of the data."""

    def visit_Call(self, node, frame, forward_caller=False):
        """A call of the environment's own method (``limited_iter``, ``plan_*``): only trees
        built by this package hold one (content's parser never writes an
        EnvironmentAttribute), so it is called directly rather than through the sandbox's
        checks of content's calls."""
        if not isinstance(node.node, nodes.EnvironmentAttribute) or node.kwargs or node.dyn_args or node.dyn_kwargs:
            return super().visit_Call(node, frame, forward_caller=forward_caller)
        self.write(f"environment.{node.node.name}(")
        for argument in node.args:
            self.visit(argument, frame)
            self.write(", ")
        self.write(")")

    def visit_Concat(self, node, frame):
        self.write("environment.checked_concat((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")

    def visit_Compare(self, node, frame):
        if not _compares_sizes(node):
            return super().visit_Compare(node, frame)
        self.write("environment.checked_compare(")
        self.visit(node.expr, frame)
        for operand in node.ops:
            self.write(f", {operand.op!r}, ")
            self.visit(operand.expr, frame)
        self.write(")")

    def visit_Getitem(self, node, frame):
        if not isinstance(node.arg, nodes.Slice):
            return super().visit_Getitem(node, frame)
        self.write("environment.checked_slice(")
        self.visit(node.node, frame)
        for part in (node.arg.start, node.arg.stop, node.arg.step):
            self.write(", ")
            if part is None:
                self.write("None")
            else:
                self.visit(part, frame)
        self.write(")")

    def _visit_literal(self, visit, node, frame):
        if not _literal(node) or _constant_items(node):
            return visit(self, node, frame)
        self.write("environment.checked_literal(")
        visit(self, node, frame)
        self.write(")")

    def visit_List(self, node, frame):
        self._visit_literal(CodeGenerator.visit_List, node, frame)

    def visit_Tuple(self, node, frame):
        self._visit_literal(CodeGenerator.visit_Tuple, node, frame)

    def visit_Dict(self, node, frame):
        self._visit_literal(CodeGenerator.visit_Dict, node, frame)


class _BudgetedTemplate(Template):
    """``render()`` called directly (not through render_source) still runs within a budget."""

    def render(self, *args, **kwargs):
        with work.render_budget():
            return super().render(*args, **kwargs)


class CorrespondenceSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["+", "*", "**", "%"])
    code_generator_class = _BoundedCodeGenerator
    template_class = _BudgetedTemplate

    def __init__(self, *args, **kwargs):
        # Constant folding would compute filters and concatenations while compiling, outside
        # the checks below: off (content's constants are few and cheap to compute each time).
        kwargs.setdefault("optimized", False)
        super().__init__(*args, **kwargs)
        for name in _REMOVED_GLOBALS:
            self.globals.pop(name, None)

    def call_binop(self, context, operator_name, left, right):
        check_binop(operator_name, left, right)
        return check_size(super().call_binop(context, operator_name, left, right))

    def checked_concat(self, parts):
        return checked_concat(parts)

    def checked_literal(self, value):
        return checked_literal(value)

    def checked_slice(self, value, start, stop, step):
        return checked_slice(value, start, stop, step)

    def checked_compare(self, left, *rest):
        result = True
        for index in range(0, len(rest), 2):
            operator_name, right = rest[index], rest[index + 1]
            work.charge(COMPARE_UNITS + comparison_cost(left, right))
            result = _COMPARISONS[operator_name](left, right)
            if not result:
                return result
            left = right
        return result

    def limited_iter(self, iterable, cost=1):
        """Every loop goes through here: each iteration costs its body's nodes (``cost``)."""
        budget = work.current()
        if budget is None:
            yield from iterable
            return
        for item in iterable:
            budget.used += cost
            if budget.used > budget.check_at:
                budget.over()
            yield item

    # Called only from the trees ``plans.py`` compiles (content's parser never writes an
    # EnvironmentAttribute node).

    def plan_render_started(self):
        """Where the walker would start a render of its own: the same charge and limit."""
        budget = work.current()
        if budget is not None:
            budget.render_limit = min(budget.letter_limit, budget.used + budget.render_size)
            budget._set_next_check()
            budget.charge(work.RENDER_UNITS)

    def plan_list(self, root, rest):
        """A repeating list's items, looked up by path as the walker does (dict keys only)."""
        value = root
        for part in rest.split(".") if rest else ():
            if not (isinstance(value, dict) and part in value):
                raise MergeError("missing data")
            value = value[part]
        if not isinstance(value, list):
            raise MergeError("not a list")
        return value

    def wrap_str_format(self, value):
        """``str.format`` reads attributes of its arguments and pads to any width: not offered
        (the checks on save refuse it; this covers content saved before them)."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None

        def refused(*args, **kwargs):
            refuse("str.format is not allowed in content")

        return refused

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: B902 (the parent's signature)
        args = checked_method_arguments(__obj, args, kwargs)
        return checked_result(super().call(__context, __obj, *args, **kwargs))

    def _generate(self, source, name, filename, defer_init=False):
        refuse_forbidden_nodes(source)
        for loop in source.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.EnvironmentAttribute("limited_iter"), [loop.iter, nodes.Const(loop_cost(loop))],
                                   [], None, None, lineno=loop.lineno)
        return super()._generate(source, name, filename, defer_init=defer_init)


@functools.cache
def get_environment(autoescape=True):
    """The HTML environment escapes every merged value; the text one (SMS, subjects) does not,
    because its output is never interpreted as markup."""
    env = CorrespondenceSandbox(autoescape=autoescape, undefined=TrackingUndefined, keep_trailing_newline=False,
                                finalize=_finalize)
    filters = {**env.filters, **FILTERS}
    env.filters.clear()
    env.filters.update(guarded_filters(filters))
    tests = guarded_tests(env.tests)
    env.tests.clear()
    env.tests.update(tests)
    # No loader: {% include %} and friends have nothing to read, and are refused anyway.
    return env


def parse_template(source):
    env = get_environment()
    try:
        with work.render_budget():
            tree = env.parse(source)
            refuse_unsafe(tree)
            env.compile(source)  # compiling also checks that every filter and test exists
            refuse_runaway_constants(tree, env)
    except TemplateSyntaxError as exc:
        raise MergeError(_describe_syntax_error(exc, source)) from exc
    except SecurityError as exc:
        raise MergeError(f"refused by the sandbox: {exc}") from exc
    except EXHAUSTION_ERRORS as exc:
        raise MergeError(exhaustion_message(exc)) from exc
    return tree


def parse_expression(source):
    env = get_environment()
    try:
        with work.render_budget():
            parser = Parser(env, source, state="variable")
            expr = parser.parse_expression()
            if not parser.stream.eos:
                raise TemplateSyntaxError("unexpected text after the expression", parser.stream.current.lineno)
            refuse_unsafe(expr)
            env.compile_expression(source)
            refuse_runaway_constants(expr, env)
    except TemplateSyntaxError as exc:
        raise MergeError(f"syntax error in '{source}': {exc.message}") from exc
    except SecurityError as exc:
        raise MergeError(f"refused by the sandbox: {exc}") from exc
    except EXHAUSTION_ERRORS as exc:
        raise MergeError(f"'{source[:80]}': {exhaustion_message(exc)}") from exc
    return expr


def _describe_syntax_error(exc, source):
    line = ""
    if exc.lineno and source:
        lines = source.splitlines() or [""]
        text = lines[min(exc.lineno, len(lines)) - 1].strip()
        line = f" near '{text[:80]}'" if len(text) < 200 else ""
    return f"syntax error{line}: {exc.message}"


@functools.lru_cache(maxsize=2048)
def _compiled(source, autoescape):
    env = get_environment(autoescape)
    refuse_unsafe(env.parse(source))
    return env.from_string(source)


def _render_limited(template, data):
    """Render, stopping once the output is too long for the letter."""
    budget = work.current()
    limit = budget.output_left()
    stream = template.generate(data)
    try:
        parts, size = [], 0
        for chunk in stream:
            size += len(chunk)
            if size > limit:
                refuse(budget.output_message())
            parts.append(chunk)
        budget.add_output(size)
        return "".join(parts)
    finally:
        stream.close()


def render_source(source, data, *, autoescape=True):
    """Render authored content with ``data``. Raises MergeError on any failure."""
    try:
        with work.render_budget():
            return _render_limited(_compiled(source, autoescape), data)
    except UndefinedError as exc:
        raise MergeError(f"missing data: {exc.message}", missing_data=True) from exc
    except SecurityError as exc:
        raise MergeError(f"refused by the sandbox: {exc}") from exc
    except TemplateError as exc:
        raise MergeError(str(exc)) from exc
    except EVALUATION_ERRORS as exc:
        raise MergeError(f"cannot evaluate: {exc}") from exc
    except EXHAUSTION_ERRORS as exc:
        raise MergeError(exhaustion_message(exc)) from exc


@functools.lru_cache(maxsize=2048)
def _compiled_expression(source):
    env = get_environment()
    refuse_unsafe(Parser(env, source, state="variable").parse_expression())
    return env.compile_expression(source, undefined_to_none=False)


def evaluate_expression(source, data):
    try:
        with work.render_budget():
            return _compiled_expression(source)(**data)
    except UndefinedError as exc:
        raise MergeError(f"missing data in condition '{source}': {exc.message}", missing_data=True) from exc
    except SecurityError as exc:
        raise MergeError(f"refused by the sandbox: {exc}") from exc
    except TemplateError as exc:
        raise MergeError(f"condition '{source}': {exc}") from exc
    except EVALUATION_ERRORS as exc:
        raise MergeError(f"cannot evaluate condition '{source}': {exc}") from exc
    except EXHAUSTION_ERRORS as exc:
        raise MergeError(f"condition '{source[:80]}': {exhaustion_message(exc)}") from exc


__all__ = [
    "MergeError", "get_environment", "collect_missing", "with_paths", "record_missing", "parse_template",
    "parse_expression", "referenced_fields", "check_references", "render_source", "evaluate_expression",
    "unescape_merge_tags", "text_to_template", "MAX_STRING_LENGTH", "MAX_INT_BITS",
]
