"""The merge language: Jinja2 in an immutable sandbox, autoescaped, strict about undefined names.

Only authored content (fragments, template subjects, channel texts) is ever compiled as a
template. Customer data and agent text are passed in as *values*: they are escaped on
output and never evaluated, whatever they contain.
"""

import contextlib
import contextvars
import functools
import html
import inspect
import re
from dataclasses import dataclass

from jinja2 import TemplateSyntaxError, Undefined, nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing
from markupsafe import Markup, escape

from .formatting import FILTERS

# Limits on what content may make the sandbox do. Each is far above what a letter needs, and
# is checked *before* the work where the size can be known (a repeat, a power, a padding),
# so that a runaway expression is refused instead of taking the memory or the CPU.
# A merged string (or list) longer than this is refused: it can only come from a runaway expression.
MAX_STRING_LENGTH = 200_000
# The whole output of one render (one block of a letter).
MAX_OUTPUT_LENGTH = 5_000_000
# Integers: 2 ** 10000 has 3011 digits, no amount needs more.
MAX_INT_BITS = 10_000
# Loop iterations in one render, all loops together (nested loops multiply).
MAX_LOOP_ITERATIONS = 1_000_000
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


def _refuse(message):
    raise SecurityError(message)


def _check_length(length, what="result"):
    if length > MAX_STRING_LENGTH:
        _refuse(f"{what} too large")


def _check_size(value):
    if isinstance(value, (str, list, tuple, dict)) and len(value) > MAX_STRING_LENGTH:
        _refuse("result too large")
    return value


def _is_int(value):
    return isinstance(value, int)  # bool too


def _check_printf(template):
    """``'%0999999999d' % 1`` pads to a gigabyte: widths and precisions are limited, and ``*``
    (a width taken from the data) is refused."""
    for match in _PRINTF_SPEC.finditer(str(template)):
        for part in match.group(1, 2):
            if part == "*":
                _refuse("'*' widths are not allowed in format strings")
            if part and int(part) > MAX_STRING_LENGTH:
                _refuse("format width too large")


_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _materialised(value):
    return value if isinstance(value, (list, tuple, str)) else list(value)


def _join_length(items, separator):
    return sum(len(str(item)) for item in items) + len(str(separator)) * max(len(items) - 1, 0)


# Filters that can make a large result from small arguments: each checks its arguments
# (bound to the filter's own parameter names) before the filter runs. Jinja also runs filters
# on constant arguments while compiling, so without these a fragment's validation on save
# could be made to allocate gigabytes.
def _guard_center(a):
    if _is_int(a.get("width")):
        _check_length(a["width"], "width")


def _guard_indent(a):
    width = a.get("width", 4)
    text = str(a["s"])
    per_line = width if _is_int(width) else len(str(width))
    _check_length(len(text) + (text.count("\n") + 1) * max(per_line, 0))


def _guard_format(a):
    _check_printf(a["value"])


def _guard_batch(a):
    if _is_int(a.get("linecount")):
        _check_length(a["linecount"], "batch size")


def _guard_slice(a):
    if _is_int(a.get("slices")):
        _check_length(a["slices"], "number of slices")


def _guard_replace(a):
    text, old, new = str(a["s"]), str(a["old"]), str(a["new"])
    occurrences = text.count(old) if old else len(text) + 1
    _check_length(len(text) + occurrences * max(len(new) - len(old), 0))


def _guard_wordwrap(a):
    text, width = str(a["s"]), a.get("width", 79)
    wrapstring = a.get("wrapstring") or "\n"
    if _is_int(width):
        _check_length(len(text) + (len(text) // max(width, 1) + 1) * len(str(wrapstring)))


def _guard_join(a):
    a["value"] = _materialised(a["value"])
    if a.get("attribute") is None:
        _check_length(_join_length(a["value"], a.get("d", "")))


_FILTER_GUARDS = {"center": _guard_center, "indent": _guard_indent, "format": _guard_format,
                  "batch": _guard_batch, "slice": _guard_slice, "replace": _guard_replace,
                  "wordwrap": _guard_wordwrap, "join": _guard_join}


def _guarded_filter(function, guard):
    signature = inspect.signature(function)

    @functools.wraps(function)
    def guarded(*args, **kwargs):
        if guard is not None:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                return function(*args, **kwargs)  # let the filter say what is wrong
            guard(bound.arguments)
            args, kwargs = bound.args, bound.kwargs
        return _check_size(function(*args, **kwargs))

    return guarded


def _checked_method_arguments(method, args, kwargs):
    """The arguments of a str method that can make a large string from small arguments,
    checked (an iterable to join is read once, here, and passed on as a list)."""
    owner = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    if isinstance(owner, str):
        if name in _PADDING_METHODS:
            width = args[0] if args else kwargs.get("width")
            if _is_int(width):
                _check_length(width, "width")
        elif name == "expandtabs":
            size = args[0] if args else kwargs.get("tabsize", 8)
            if _is_int(size):
                _check_length(len(owner) + owner.count("\t") * size)
        elif name == "replace" and len(args) >= 2:
            _guard_replace({"s": owner, "old": args[0], "new": args[1]})
        elif name == "join" and args:
            args = (_materialised(args[0]), *args[1:])
            _check_length(_join_length(args[0], owner))
    return args


# str methods that pad to a width given as an argument.
_PADDING_METHODS = {"ljust", "rjust", "center", "zfill"}
# Names the default Jinja namespace offers that content has no use for; `namespace` would
# also let a loop carry state from one iteration to the next.
_REMOVED_GLOBALS = ("cycler", "joiner", "namespace", "lipsum", "dict")

_loop_budget = contextvars.ContextVar("correspondence_loop_budget", default=None)


class _LimitedCodeGenerator(CodeGenerator):
    """Concatenation (``~``) is compiled to a join the sandbox cannot see: its result is
    checked like the result of any other operator."""

    def visit_Concat(self, node, frame):
        self.write("environment.checked_concat(")
        super().visit_Concat(node, frame)
        self.write(")")


class CorrespondenceSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["+", "*", "**", "%"])
    code_generator_class = _LimitedCodeGenerator

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in _REMOVED_GLOBALS:
            self.globals.pop(name, None)

    def call_binop(self, context, operator_name, left, right):
        if operator_name == "**" and _is_int(left) and _is_int(right) and abs(left) > 1 and right > 0 \
                and left.bit_length() * right > MAX_INT_BITS:
            _refuse("exponent too large")
        if operator_name == "*":
            if _is_int(left) and _is_int(right):
                if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                    _refuse("result too large")
            elif _is_int(right) and hasattr(left, "__len__"):
                _check_length(len(left) * right)
            elif _is_int(left) and hasattr(right, "__len__"):
                _check_length(len(right) * left)
        if operator_name == "+" and hasattr(left, "__len__") and hasattr(right, "__len__"):
            _check_length(len(left) + len(right))
        if operator_name == "%" and isinstance(left, str):
            _check_printf(left)
        return _check_size(super().call_binop(context, operator_name, left, right))

    def checked_concat(self, value):
        return _check_size(value)

    def limited_iter(self, iterable):
        """Every loop goes through here: the iterations of one render are counted together."""
        budget = _loop_budget.get()
        if budget is None:
            budget = [0]
        for item in iterable:
            budget[0] += 1
            if budget[0] > MAX_LOOP_ITERATIONS:
                _refuse("too many loop iterations")
            yield item

    def wrap_str_format(self, value):
        """``str.format`` reads attributes of its arguments and pads to any width: not offered
        (the checks on save refuse it; this covers content saved before them)."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None

        def refused(*args, **kwargs):
            _refuse("str.format is not allowed in content")

        return refused

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: B902 (the parent's signature)
        args = _checked_method_arguments(__obj, args, kwargs)
        return _check_size(super().call(__context, __obj, *args, **kwargs))

    def _generate(self, source, name, filename, defer_init=False):
        for loop in source.find_all(nodes.For):
            if not loop.recursive:
                loop.iter = nodes.Call(nodes.EnvironmentAttribute("limited_iter"), [loop.iter], [], None, None,
                                       lineno=loop.lineno)
        return super()._generate(source, name, filename, defer_init=defer_init)


@functools.cache
def get_environment(autoescape=True):
    """The HTML environment escapes every merged value; the text one (SMS, subjects) does not,
    because its output is never interpreted as markup."""
    env = CorrespondenceSandbox(autoescape=autoescape, undefined=TrackingUndefined, keep_trailing_newline=False)
    env.filters.update(FILTERS)
    for name, function in list(env.filters.items()):
        env.filters[name] = _guarded_filter(function, _FILTER_GUARDS.get(name))
    # No loader: {% include %} and friends have nothing to read, and are refused anyway.
    return env


# What a filter or an operator raises on values it cannot take ('a'|dictsort, 1|wordwrap...).
_EVALUATION_ERRORS = (TypeError, ValueError, ArithmeticError, AttributeError, LookupError, AssertionError)

# Errors Python itself raises on content built to exhaust it: parentheses nested thousands
# deep (RecursionError), blocks nested deeper than Python compiles (SyntaxError), a result
# that does not fit in memory. Each is a problem with the content, said as such.
_EXHAUSTION_ERRORS = (RecursionError, SyntaxError, MemoryError)


def _exhaustion_message(exc):
    if isinstance(exc, MemoryError):
        return "the content asks for more memory than a letter may use"
    return "the content is nested too deeply"


# Attribute-taking filters: ``|attr('__class__')``, ``|map(attribute='_x')``...
_ATTRIBUTE_FILTERS = {"attr", "map", "selectattr", "rejectattr", "sort", "groupby", "sum", "unique", "min",
                      "max", "join", "dictsort"}


def _self_and_descendants(tree, node_types):
    """``find_all`` leaves out the node it starts from: an expression's own top node counts."""
    if isinstance(tree, node_types):
        yield tree
    yield from tree.find_all(node_types)


def _private(name):
    return isinstance(name, str) and any(part.startswith("_") for part in name.split("."))


def refuse_unsafe(tree):
    """Static checks of content, so that what the sandbox would refuse at render time is
    already refused on save, with its line: private names (``__class__``, ``_x``), Jinja's
    ``self``, ``str.format`` (which reads attributes and pads to any width) and recursive
    loops. The sandbox refuses them again at render time."""
    for node in _self_and_descendants(tree, (nodes.Getattr, nodes.Getitem, nodes.Name, nodes.For, nodes.Call,
                                             nodes.Filter)):
        where = f"(line {node.lineno})"
        if isinstance(node, nodes.Getattr) and _private(node.attr):
            raise MergeError(f"'{node.attr}' is not allowed: names starting with '_' are private {where}")
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and _private(node.arg.value):
            raise MergeError(f"'{node.arg.value}' is not allowed: names starting with '_' are private {where}")
        if isinstance(node, nodes.Name) and node.ctx == "load" and node.name == "self":
            raise MergeError(f"'self' is not available in content {where}")
        if isinstance(node, nodes.For) and node.recursive:
            raise MergeError(f"recursive loops are not allowed in content {where}")
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr) \
                and node.node.attr in ("format", "format_map"):
            raise MergeError(f"'.{node.node.attr}()' is not allowed in content; join text with ~ {where}")
        if isinstance(node, nodes.Filter) and node.name in _ATTRIBUTE_FILTERS:
            arguments = [*node.args, *(keyword.value for keyword in node.kwargs)]
            for argument in arguments:
                if isinstance(argument, nodes.Const) and _private(argument.value):
                    raise MergeError(f"'{argument.value}' is not allowed: names starting with '_' are private "
                                     f"{where}")


def unescape_merge_tags(rich_text_html):
    """The editor stores ``>`` inside ``{{ balance > 0 }}`` as ``&gt;``; restore the tags only."""
    return MERGE_TAG_RE.sub(lambda m: html.unescape(m.group(0)).replace("\xa0", " "), rich_text_html)


class _NotConstant(Exception):
    pass


def _constant(node, env):
    """The value of an expression made of literals only, computed with the sandbox's checks."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, (nodes.List, nodes.Tuple)):
        items = [_constant(item, env) for item in node.items]
        return items if isinstance(node, nodes.List) else tuple(items)
    if isinstance(node, nodes.BinExpr) and node.operator in env.binop_table:
        left, right = _constant(node.left, env), _constant(node.right, env)
        if node.operator in env.intercepted_binops:
            return env.call_binop(None, node.operator, left, right)
        return env.binop_table[node.operator](left, right)
    if isinstance(node, nodes.UnaryExpr) and node.operator in env.unop_table:
        return env.unop_table[node.operator](_constant(node.node, env))
    if isinstance(node, nodes.Concat):
        return env.checked_concat("".join(str(_constant(item, env)) for item in node.nodes))
    if isinstance(node, (nodes.Call, nodes.Filter)) and node.dyn_args is None and node.dyn_kwargs is None:
        args = [_constant(argument, env) for argument in node.args]
        kwargs = {keyword.key: _constant(keyword.value, env) for keyword in node.kwargs}
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "range":
            return env.globals["range"](*args)
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
            owner = _constant(node.node.node, env)
            if not isinstance(owner, str):
                raise _NotConstant
            method = env.getattr(owner, node.node.attr)
            if not callable(method) or not env.is_safe_callable(method):
                raise _NotConstant
            return _check_size(method(*_checked_method_arguments(method, args, kwargs), **kwargs))
        if isinstance(node, nodes.Filter) and node.node is not None and node.name in env.filters:
            function = env.filters[node.name]
            pass_arg = getattr(function, "jinja_pass_arg", None)
            if pass_arg is not None:
                if pass_arg.name == "context":
                    raise _NotConstant
                args.insert(0, nodes.EvalContext(env) if pass_arg.name == "eval_context" else env)
                return function(args[0], _constant(node.node, env), *args[1:], **kwargs)
            return function(_constant(node.node, env), *args, **kwargs)
    raise _NotConstant


def refuse_runaway_constants(tree, env):
    """``{{ 'x' * 10 ** 10 }}``, ``range(10 ** 9)``, ``'x'|center(10 ** 9)``: literal-only
    expressions are computed on save under the same limits as at render time, so that what
    can only fail is refused there, with its line."""
    for node in _self_and_descendants(tree, (nodes.BinExpr, nodes.UnaryExpr, nodes.Call, nodes.Filter, nodes.Concat)):
        try:
            _constant(node, env)
        except _NotConstant:
            continue
        except SecurityError as exc:
            raise MergeError(f"refused by the sandbox: {exc} (line {node.lineno})") from exc
        except (TemplateError, *_EVALUATION_ERRORS) as exc:
            raise MergeError(f"cannot evaluate: {exc} (line {node.lineno})") from exc


def parse_template(source):
    env = get_environment()
    try:
        tree = env.parse(source)
        for forbidden in tree.find_all(FORBIDDEN_TAGS):
            raise MergeError(f"'{type(forbidden).__name__.lower()}' is not allowed in content "
                             f"(line {forbidden.lineno})")
        refuse_unsafe(tree)
        env.compile(source)  # compiling also checks that every filter and test exists
        refuse_runaway_constants(tree, env)
    except TemplateSyntaxError as exc:
        raise MergeError(_describe_syntax_error(exc, source)) from exc
    except _EXHAUSTION_ERRORS as exc:
        raise MergeError(_exhaustion_message(exc)) from exc
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
        refuse_unsafe(expr)
        env.compile_expression(source)
        refuse_runaway_constants(expr, env)
    except TemplateSyntaxError as exc:
        raise MergeError(f"syntax error in '{source}': {exc.message}") from exc
    except _EXHAUSTION_ERRORS as exc:
        raise MergeError(f"'{source[:80]}': {_exhaustion_message(exc)}") from exc
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
    env = get_environment(autoescape)
    refuse_unsafe(env.parse(source))
    return env.from_string(source)


def _render_limited(template, data):
    """Render with the loop budget of one render, stopping once the output is too large."""
    token = _loop_budget.set([0])
    stream = template.generate(data)
    try:
        parts, size = [], 0
        for chunk in stream:
            size += len(chunk)
            if size > MAX_OUTPUT_LENGTH:
                _refuse("output too large")
            parts.append(chunk)
        return "".join(parts)
    finally:
        stream.close()
        _loop_budget.reset(token)


def render_source(source, data, *, autoescape=True):
    """Render authored content with ``data``. Raises MergeError on any failure."""
    try:
        return _render_limited(_compiled(source, autoescape), data)
    except UndefinedError as exc:
        raise MergeError(f"missing data: {exc.message}", missing_data=True) from exc
    except SecurityError as exc:
        raise MergeError(f"refused by the sandbox: {exc}") from exc
    except TemplateError as exc:
        raise MergeError(str(exc)) from exc
    except _EVALUATION_ERRORS as exc:
        raise MergeError(f"cannot evaluate: {exc}") from exc
    except _EXHAUSTION_ERRORS as exc:
        raise MergeError(_exhaustion_message(exc)) from exc


@functools.lru_cache(maxsize=2048)
def _compiled_expression(source):
    env = get_environment()
    refuse_unsafe(Parser(env, source, state="variable").parse_expression())
    return env.compile_expression(source, undefined_to_none=False)


def evaluate_expression(source, data):
    try:
        return _compiled_expression(source)(**data)
    except UndefinedError as exc:
        raise MergeError(f"missing data in condition '{source}': {exc.message}", missing_data=True) from exc
    except SecurityError as exc:
        raise MergeError(f"refused by the sandbox: {exc}") from exc
    except TemplateError as exc:
        raise MergeError(f"condition '{source}': {exc}") from exc
    except _EVALUATION_ERRORS as exc:
        raise MergeError(f"cannot evaluate condition '{source}': {exc}") from exc
    except _EXHAUSTION_ERRORS as exc:
        raise MergeError(f"condition '{source[:80]}': {_exhaustion_message(exc)}") from exc


__all__ = [
    "MergeError", "get_environment", "collect_missing", "with_paths", "record_missing", "parse_template",
    "parse_expression", "referenced_fields",
    "check_references", "render_source", "evaluate_expression", "unescape_merge_tags",
]
