"""The merge language: Jinja2 in an immutable sandbox, autoescaped, strict about undefined names.

Only authored content (fragments, template subjects, channel texts) is ever compiled as a
template. Customer data and agent text are passed in as *values*: they are escaped on
output and never evaluated, whatever they contain.
"""

import contextlib
import contextvars
import functools
import html
import re
from dataclasses import dataclass

from jinja2 import TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing
from markupsafe import Markup, escape

from .formatting import FILTERS

# A merged string longer than this is refused: it can only come from a runaway expression.
MAX_STRING_LENGTH = 200_000
FORBIDDEN_TAGS = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport, nodes.Macro, nodes.CallBlock)
MERGE_TAG_RE = re.compile(r"(\{\{.*?\}\}|\{%.*?%\})", re.DOTALL)


class MergeError(Exception):
    """A problem with merge syntax or a merge field; ``location`` says where."""

    def __init__(self, message, location="", missing_data=False):
        super().__init__(message, location, missing_data)
        self.message = message
        self.location = location
        # True when the cause is data the content needs and does not have; the missing
        # field itself is then also recorded by collect_missing().
        self.missing_data = missing_data

    def __str__(self):
        return f"{self.location}: {self.message}" if self.location else self.message


# Missing data ------------------------------------------------------------------------
#
# Outside ``collect_missing()`` a missing merge field is an error, as with Jinja's
# StrictUndefined. Inside it, each missing field used by the content is recorded by its path
# in the data and shown as a marker, so that a letter preview can list *every* missing field
# at once (and point at it in place) instead of stopping at the first.

_missing_fields = contextvars.ContextVar("correspondence_missing_fields", default=None)


class DataDict(dict):
    """A mapping of letter data that knows its own path (``customer``, ``invoices[1]``), so
    that a key missing from it can be named in full."""

    __slots__ = ("_data_path",)


class DataList(list):
    __slots__ = ("_data_path",)


def with_paths(value, path=""):
    """A copy of ``value`` whose dicts and lists know their path in the data."""
    if isinstance(value, dict):
        result = DataDict((key, with_paths(item, f"{path}.{key}" if path else str(key)))
                          for key, item in value.items())
    elif isinstance(value, list):
        result = DataList(with_paths(item, f"{path}[{index}]") for index, item in enumerate(value))
    else:
        return value
    result._data_path = path
    return result


class _PathOnly:
    __slots__ = ("_data_path",)

    def __init__(self, path):
        self._data_path = path


class MissingFields:
    """The data paths a render needed but did not find, in the order first met."""

    def __init__(self):
        self.paths = {}

    def add(self, path):
        self.paths.setdefault(path, None)

    def __iter__(self):
        return iter(self.paths)

    def __len__(self):
        return len(self.paths)


@contextlib.contextmanager
def collect_missing():
    collector = MissingFields()
    token = _missing_fields.set(collector)
    try:
        yield collector
    finally:
        _missing_fields.reset(token)


def record_missing(path):
    """Record ``path`` as missing if a collector is active; False when strict (no collector)."""
    collector = _missing_fields.get()
    if collector is None:
        return False
    collector.add(path)
    return True


class TrackingUndefined(Undefined):
    """Strict by default; records and renders a visible marker inside ``collect_missing()``.

    Only *using* a missing value records it: ``{% if customer.title is defined %}`` and
    ``|default(...)`` stay legitimate ways for content to handle optional data.
    """

    __slots__ = ()

    @property
    def data_path(self):
        name = self._undefined_name
        if name is None:
            return self._undefined_hint or "?"
        parent = self._undefined_obj
        base = getattr(parent, "_data_path", "") if parent is not missing else ""
        if isinstance(name, int):
            return f"{base}[{name}]"
        return f"{base}.{name}" if base else str(name)

    def _use(self):
        if not record_missing(self.data_path):
            self._fail_with_undefined_error()

    def _fail_and_record(self, *args, **kwargs):
        record_missing(self.data_path)
        return Undefined._fail_with_undefined_error(self, *args, **kwargs)

    __add__ = __radd__ = __sub__ = __rsub__ = _fail_and_record
    __mul__ = __rmul__ = __div__ = __rdiv__ = _fail_and_record
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = _fail_and_record
    __mod__ = __rmod__ = __pos__ = __neg__ = _fail_and_record
    __call__ = __getitem__ = _fail_and_record
    __lt__ = __le__ = __gt__ = __ge__ = _fail_and_record
    __int__ = __float__ = __complex__ = __pow__ = __rpow__ = _fail_and_record

    def __getattr__(self, name):
        if name[:2] == "__" and name[-2:] == "__":
            raise AttributeError(name)
        if _missing_fields.get() is None:
            return self._fail_with_undefined_error()
        # complaint.reference with no complaint at all is reported as complaint.reference.
        return type(self)(obj=_PathOnly(self.data_path), name=name, exc=self._undefined_exception)

    def __str__(self):
        self._use()
        return f"[{self.data_path}]"

    def __html__(self):
        self._use()
        return Markup('<mark class="missing-field" title="Missing data">{}</mark>').format(self.data_path)

    def __iter__(self):
        self._use()
        return iter(())

    def __len__(self):
        self._use()
        return 0

    def __bool__(self):
        self._use()
        return False

    def __eq__(self, other):
        self._use()
        return type(self) is type(other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return id(type(self))

    def __contains__(self, item):
        self._use()
        return False


class CorrespondenceSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, operator_name, left, right):
        if operator_name == "**" and (abs(left) if isinstance(left, (int, float)) else 0) > 1 and right > 64:
            raise SecurityError("exponent too large")
        result = super().call_binop(context, operator_name, left, right)
        if isinstance(result, (str, list)) and len(result) > MAX_STRING_LENGTH:
            raise SecurityError("result too large")
        return result


@functools.cache
def get_environment(autoescape=True):
    """The HTML environment escapes every merged value; the text one (SMS, subjects) does not,
    because its output is never interpreted as markup."""
    env = CorrespondenceSandbox(autoescape=autoescape, undefined=TrackingUndefined, keep_trailing_newline=False)
    env.filters.update(FILTERS)
    # No loader: {% include %} and friends have nothing to read, and are refused anyway.
    return env


def unescape_merge_tags(rich_text_html):
    """The editor stores ``>`` inside ``{{ balance > 0 }}`` as ``&gt;``; restore the tags only."""
    return MERGE_TAG_RE.sub(lambda m: html.unescape(m.group(0)).replace("\xa0", " "), rich_text_html)


def parse_template(source):
    env = get_environment()
    try:
        tree = env.parse(source)
        env.compile(source)  # compiling also checks that every filter and test exists
    except TemplateSyntaxError as exc:
        raise MergeError(_describe_syntax_error(exc, source)) from exc
    for forbidden in tree.find_all(FORBIDDEN_TAGS):
        raise MergeError(f"'{type(forbidden).__name__.lower()}' is not allowed in content (line {forbidden.lineno})")
    return tree


def text_to_template(text):
    """Authored plain text with merge tags, as template source whose literal parts are escaped."""
    parts = MERGE_TAG_RE.split(text or "")
    return "".join(part if index % 2 else str(escape(part)) for index, part in enumerate(parts))


def parse_expression(source):
    env = get_environment()
    try:
        parser = Parser(env, source, state="variable")
        expr = parser.parse_expression()
        if not parser.stream.eos:
            raise TemplateSyntaxError("unexpected text after the expression", parser.stream.current.lineno)
        env.compile_expression(source)
    except TemplateSyntaxError as exc:
        raise MergeError(f"syntax error in '{source}': {exc.message}") from exc
    return expr


def _describe_syntax_error(exc, source):
    line = ""
    if exc.lineno and source:
        lines = source.splitlines() or [""]
        text = lines[min(exc.lineno, len(lines)) - 1].strip()
        line = f" near '{text[:80]}'" if len(text) < 200 else ""
    return f"syntax error{line}: {exc.message}"


@dataclass(frozen=True)
class FieldReference:
    path: str
    lineno: int


class _ReferenceCollector:
    """Walks a Jinja AST and lists the data paths it reads, following loop variables.

    ``{% for invoice in invoices %}{{ invoice.number }}`` reads ``invoices`` and
    ``invoices.number``. Names set inside the template are local and not reported.
    """

    def __init__(self):
        self.references = []

    def chain(self, node, scope):
        """(path or None, is_local) for Name/Getattr/Getitem chains."""
        attrs = []
        while True:
            if isinstance(node, nodes.Getattr):
                attrs.append(node.attr)
                node = node.node
            elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
                if isinstance(node.arg.value, str):
                    attrs.append(node.arg.value)
                node = node.node  # an integer index picks an item: same path as the list's items
            elif isinstance(node, nodes.Name):
                break
            else:
                return None
        attrs.reverse()
        if node.name in scope:
            base = scope[node.name]
            if base is None:
                return None
            return ".".join([base, *attrs])
        return ".".join([node.name, *attrs])

    def visit(self, node, scope):
        if isinstance(node, (nodes.Getattr, nodes.Getitem, nodes.Name)) and getattr(node, "ctx", "load") == "load":
            path = self.chain(node, scope)
            if path is not None:
                self.references.append(FieldReference(path, node.lineno))
                return
            if isinstance(node, nodes.Name):
                return
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
            # customer.name.upper(): the data read is customer.name; the method is the sandbox's business.
            self.visit(node.node.node, scope)
            for child in [*node.args, *node.kwargs, node.dyn_args, node.dyn_kwargs]:
                if child is not None:
                    self.visit(child, scope)
            return
        if isinstance(node, nodes.For):
            self.visit(node.iter, scope)
            inner = dict(scope)
            source = self.chain(node.iter, scope) if isinstance(node.iter, (nodes.Name, nodes.Getattr)) else None
            for target in node.target.find_all(nodes.Name) if not isinstance(node.target, nodes.Name) else [node.target]:
                inner[target.name] = source if isinstance(node.target, nodes.Name) else None
            inner["loop"] = None
            if node.test is not None:
                self.visit(node.test, inner)
            for child in node.body:
                self.visit(child, inner)
            for child in node.else_:
                self.visit(child, scope)
            return
        if isinstance(node, (nodes.Assign, nodes.AssignBlock)):
            if isinstance(node, nodes.Assign):
                self.visit(node.node, scope)
            else:
                for child in node.body:
                    self.visit(child, scope)
            for target in node.target.find_all(nodes.Name) if not isinstance(node.target, nodes.Name) else [node.target]:
                scope[target.name] = None
            return
        for child in node.iter_child_nodes():
            self.visit(child, scope)


def referenced_fields(tree_or_expr, bindings=None):
    """Data paths read by a parsed template or expression.

    ``bindings`` maps names the caller provides to data paths, e.g. ``{"item": "invoices"}``
    inside a repeating list; a name bound to None is local and not reported.
    """
    collector = _ReferenceCollector()
    collector.visit(tree_or_expr, dict(bindings or {}))
    seen = {}
    for reference in collector.references:
        seen.setdefault(reference.path, reference)
    return list(seen.values())


def check_references(references, field_index):
    """Messages for references the data dictionary does not describe."""
    problems = []
    for reference in references:
        message = field_index.explain_path(reference.path)
        if message:
            problems.append(str(message))
    return problems


@functools.lru_cache(maxsize=2048)
def _compiled(source, autoescape):
    return get_environment(autoescape).from_string(source)


def render_source(source, data, *, autoescape=True):
    """Render authored content with ``data``. Raises MergeError on any failure."""
    try:
        return _compiled(source, autoescape).render(data)
    except UndefinedError as exc:
        raise MergeError(f"missing data: {exc.message}", missing_data=True) from exc
    except SecurityError as exc:
        raise MergeError(f"refused by the sandbox: {exc}") from exc
    except TemplateError as exc:
        raise MergeError(str(exc)) from exc
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise MergeError(f"cannot evaluate: {exc}") from exc


@functools.lru_cache(maxsize=2048)
def _compiled_expression(source):
    return get_environment().compile_expression(source, undefined_to_none=False)


def evaluate_expression(source, data):
    try:
        return _compiled_expression(source)(**data)
    except UndefinedError as exc:
        raise MergeError(f"missing data in condition '{source}': {exc.message}", missing_data=True) from exc
    except SecurityError as exc:
        raise MergeError(f"refused by the sandbox: {exc}") from exc
    except TemplateError as exc:
        raise MergeError(f"condition '{source}': {exc}") from exc
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise MergeError(f"cannot evaluate condition '{source}': {exc}") from exc


__all__ = [
    "MergeError", "get_environment", "collect_missing", "with_paths", "record_missing", "parse_template",
    "parse_expression", "referenced_fields",
    "check_references", "render_source", "evaluate_expression", "unescape_merge_tags",
]
