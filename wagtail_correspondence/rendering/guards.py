"""Size and work checks of what content asks the sandbox to do: filters, tests, method calls,
operators, concatenation, comparisons, slices and output.

Each operation is charged to the render budget (``budget.py``) and, where it can build a large
value from small arguments (a repeat, a padding, a join, a format...), the size of the result
is computed from its arguments and refused *before* the operation runs. Jinja also runs
filters on constant arguments while checking content on save, so these checks protect the
save as well.

Filters compute text, never markup: the ones that mark strings safe or make markup from data
(``safe``, ``xmlattr``, ``urlize``) are not offered; ``escape`` and ``tojson`` return plain
text (escaped on output like any other); the ones that behave differently under autoescaping
(``replace``, ``join``) always work on plain text.
"""

import functools
import inspect
import json
import re
from decimal import Decimal
from pprint import pformat

from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter
from jinja2.nodes import EvalContext
from jinja2.utils import missing

from . import budget as work
from .budget import CHARS_PER_UNIT, CONTAINERS, MAX_VALUE_WEIGHT, charge, weight

# A merged string (or list) longer than this is refused: it can only come from a runaway expression.
MAX_STRING_LENGTH = 200_000
# Integers: 2 ** 10000 has 3011 digits, no amount needs more.
MAX_INT_BITS = 10_000
# tojson's indentation (each nesting level repeats it on every line).
MAX_JSON_INDENT = 8

# Filters that mark text as markup or make markup from data, and one that would make a letter
# render differently each time: not offered at all.
REMOVED_FILTERS = {
    "safe": "'|safe' is not allowed in content: merge fields are always shown as text",
    "xmlattr": "'|xmlattr' is not allowed in content: merge fields cannot write HTML attributes",
    "urlize": "'|urlize' is not allowed in content: links are written in the editor",
    "random": "'|random' is not allowed in content: a letter renders the same way every time",
}


def refuse(message):
    raise SecurityError(message)


def check_length(length, what="result"):
    if length > MAX_STRING_LENGTH:
        refuse(f"{what} too large")


def check_size(value):
    if isinstance(value, (str, list, tuple, dict)) and len(value) > MAX_STRING_LENGTH:
        refuse("result too large")
    return value


def is_int(value):
    return isinstance(value, int)  # bool too


def text_weight(value):
    """The length of ``str(value)``, known before it is built; a container too heavy to be
    written as text is refused here."""
    if type(value) is str:
        return len(value)
    size = weight(value)
    if size > MAX_STRING_LENGTH:
        refuse("value too large to use as text")
    return size


def check_printf(template):
    """``'%0999999999d' % 1`` pads to a gigabyte: widths and precisions are limited, and ``*``
    (a width taken from the data) is refused."""
    for match in _PRINTF_SPEC.finditer(str(template)):
        for part in match.group(1, 2):
            if part == "*":
                refuse("'*' widths are not allowed in format strings")
            if part and int(part) > MAX_STRING_LENGTH:
                refuse("format width too large")


_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def check_format(template, arguments):
    """``template % arguments``: the widths, and the arguments' text, measured first."""
    check_printf(template)
    values = arguments if isinstance(arguments, tuple) else (arguments,)
    size = len(str(template)) + sum(text_weight(value) for value in values)
    check_length(size)
    charge(size // CHARS_PER_UNIT)


def materialised(value):
    return value if isinstance(value, (list, tuple, str)) else list(value)


def check_join(items, separator):
    size = sum(text_weight(item) for item in items) + text_weight(separator) * max(len(items) - 1, 0)
    check_length(size)
    charge(len(items) + size // CHARS_PER_UNIT)


# Filter guards: each checks its arguments (bound to the filter's own parameter names) before
# the filter runs, and may replace them (an iterable read once, here).
def _guard_center(a):
    if is_int(a.get("width")):
        check_length(a["width"], "width")
        charge(a["width"] // CHARS_PER_UNIT)


def _guard_indent(a):
    width = a.get("width", 4)
    text = str(a["s"])
    per_line = width if is_int(width) else len(str(width))
    size = len(text) + (text.count("\n") + 1) * max(per_line, 0)
    check_length(size)
    charge(size // CHARS_PER_UNIT)


def _guard_format(a):
    check_format(a["value"], a.get("kwargs") or a.get("args", ()))


def _guard_batch(a):
    if is_int(a.get("linecount")):
        check_length(a["linecount"], "batch size")


def _guard_slice(a):
    if is_int(a.get("slices")):
        check_length(a["slices"], "number of slices")


def check_replace(text, old, new):
    text, old, new = str(text), str(old), str(new)
    occurrences = text.count(old) if old else len(text) + 1
    size = len(text) + occurrences * max(len(new) - len(old), 0)
    check_length(size)
    charge((len(text) + size) // CHARS_PER_UNIT)


def _guard_replace(a):
    check_replace(a["s"], a["old"], a["new"])


def _guard_wordwrap(a):
    text, width = str(a["s"]), a.get("width", 79)
    wrapstring = a.get("wrapstring") or "\n"
    if is_int(width):
        check_length(len(text) + (len(text) // max(width, 1) + 1) * len(str(wrapstring)))


def _guard_join(a):
    items = materialised(a["value"])
    if a.get("attribute") is not None:
        # The attribute of each item is what is joined: taken here, so that its size is known.
        items = list(map(make_attrgetter(a["eval_ctx"].environment, a["attribute"]), items))
        a["attribute"] = None
    a["value"] = items
    check_join(items, a.get("d", ""))


def _guard_sum(a):
    start = a.get("start", 0)
    if not isinstance(start, (int, float, Decimal)):
        # sum(start=[]) concatenates lists one by one: quadratic. Lists are joined with ~ or join.
        refuse("sum adds numbers: its start must be a number")


_FILTER_GUARDS = {"center": _guard_center, "indent": _guard_indent, "format": _guard_format,
                  "batch": _guard_batch, "slice": _guard_slice, "replace": _guard_replace,
                  "wordwrap": _guard_wordwrap, "join": _guard_join, "sum": _guard_sum}

# Filters that use their value as text: a container is weighed before it is written out, and
# the text's length is charged. Per character, the ones done in Python cost more than a unit
# each for CHARS_PER_UNIT characters: how many characters they may touch per unit (measured
# with bench/render_budget.py).
_TEXT_FILTERS = {"capitalize", "center", "e", "escape", "forceescape", "format", "indent", "lower", "replace",
                 "string", "striptags", "title", "trim", "truncate", "upper", "urlencode", "wordcount",
                 "wordwrap", "money", "number", "date", "address", "yesno", "digits", "tojson", "pprint",
                 "filesizeformat"}
_CHARS_PER_UNIT = {"wordwrap": 1, "title": 1, "pprint": 1, "striptags": 2, "urlencode": 4}
# Filters that visit each item of their value in Python: a unit per item (more where each item
# costs more, as in sorting).
_ITEM_FILTERS = {"batch": 1, "dictsort": 6, "groupby": 8, "items": 1, "join": 0, "list": 1, "map": 3, "max": 2,
                 "min": 2, "reject": 3, "rejectattr": 3, "reverse": 1, "select": 3, "selectattr": 3, "slice": 1,
                 "sort": 12, "sum": 2, "unique": 6}
# Units of work, measured against a loop iteration (bench/render_budget.py): a filter call, a
# guard's look at the arguments, a method call through the sandbox, an operator, a comparison.
FILTER_UNITS = 2
GUARD_UNITS = 6
CALL_UNITS = 15
BINOP_UNITS = 3
COMPARE_UNITS = 3
# Filters that cost far more than that on any value (Babel's formatting), in units.
_FIXED_COST = {"money": 80, "number": 40, "date": 40, "address": 16}


def _counted(iterable, units):
    """An iterator of unknown length, charged as its items are taken."""
    for item in iterable:
        charge(units)
        yield item


def _sized(value):
    return isinstance(value, (str, range, list, tuple, dict, set, frozenset))


_TEXT_EVAL_CONTEXTS = {}


def _text_eval_context(eval_ctx):
    """An evaluation context with autoescaping off: filters then work on plain text only."""
    environment = eval_ctx.environment
    context = _TEXT_EVAL_CONTEXTS.get(id(environment))
    if context is None:
        context = EvalContext(environment)
        context.autoescape = False
        _TEXT_EVAL_CONTEXTS[id(environment)] = context
    return context


def _binder(function):
    """Arguments by parameter name, for a guard to read and replace: a plain zip (the filters
    guarded take no ``*args``, except ``format``, whose guard reads them as they are)."""
    parameters = inspect.signature(function).parameters
    names = list(parameters)
    if any(parameter.kind is parameter.VAR_POSITIONAL for parameter in parameters.values()):
        def bind(args, kwargs):
            return {"value": args[0] if args else None, "args": args[1:], "kwargs": kwargs}, None
    else:
        def bind(args, kwargs):
            if len(args) > len(names) or any(name in kwargs for name in names[:len(args)]):
                return None, None  # the filter itself says what is wrong
            arguments = dict(zip(names, args))
            arguments.update(kwargs)
            return arguments, names[:len(args)]
    return bind


def guarded_filter(name, function):
    """``function`` charged to the budget and checked before it runs, its result checked after."""
    guard = _FILTER_GUARDS.get(name)
    bind = _binder(function) if guard is not None else None
    pass_arg = getattr(function, "jinja_pass_arg", None)
    text_context = pass_arg is not None and pass_arg.name == "eval_context"
    position = 0 if pass_arg is None else 1
    is_text = name in _TEXT_FILTERS
    per_item = _ITEM_FILTERS.get(name)
    chars_per_unit = _CHARS_PER_UNIT.get(name, CHARS_PER_UNIT)
    fixed = FILTER_UNITS + _FIXED_COST.get(name, 0) + (GUARD_UNITS if guard is not None else 0)

    @functools.wraps(function)
    def guarded(*args, **kwargs):
        if text_context and args:
            args = (_text_eval_context(args[0]), *args[1:])
        units = fixed
        if len(args) > position:
            value = args[position]
            if is_text:
                units += (len(value) if type(value) is str else text_weight(value)) // chars_per_unit
            elif per_item is not None:
                if _sized(value):
                    units += len(value) * per_item
                elif per_item and value is not None and hasattr(value, "__iter__") and not isinstance(value, dict):
                    args = (*args[:position], _counted(value, per_item), *args[position + 1:])
        charge(units)
        if guard is not None:
            arguments, positional = bind(args, kwargs)
            if arguments is not None:
                guard(arguments)
                if positional is not None:  # the arguments as the guard left them
                    args = tuple(arguments.pop(name) for name in positional)
                    kwargs = arguments
        return check_size(function(*args, **kwargs))

    return guarded


# Filters of our own in place of Jinja's: plain text in, plain text out.
def as_text(value):
    """``|e`` and ``|escape``: output is escaped anyway; the value stays text, never markup."""
    return str(value)


def tojson_text(value, indent=None):
    """JSON as plain text (escaped on output like any other text)."""
    if indent is not None and (not is_int(indent) or indent > MAX_JSON_INDENT):
        refuse(f"tojson's indent may be at most {MAX_JSON_INDENT}")
    text_weight(value)
    return json.dumps(value, indent=indent, sort_keys=True, default=str)


def pprint_text(value):
    """On one line: indentation would repeat on every line of a nested value."""
    text_weight(value)
    return pformat(value, width=MAX_STRING_LENGTH + 1)


def replace_text(s, old, new, count=None):
    return str(s).replace(str(old), str(new), -1 if count is None else count)


REPLACED_FILTERS = {"e": as_text, "escape": as_text, "forceescape": as_text, "tojson": tojson_text,
                    "pprint": pprint_text, "replace": replace_text}


def guarded_filters(filters):
    """The filters content may use, each guarded."""
    offered = {name: function for name, function in filters.items() if name not in REMOVED_FILTERS}
    offered.update(REPLACED_FILTERS)
    return {name: guarded_filter(name, function) for name, function in offered.items()}


# Tests comparing values ("x is in y", "select('eq', x)"): charged by the size compared.
_COMPARING_TESTS = {"in", "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt", "greaterthan",
                    ">", "ge", ">="}


def comparison_cost(left, right):
    return (_compared_size(left) + _compared_size(right)) // CHARS_PER_UNIT


def _compared_size(value):
    if type(value) is str:
        return len(value)
    if isinstance(value, CONTAINERS):
        return weight(value)
    return 0


def guarded_test(function):
    @functools.wraps(function)
    def guarded(value, other=missing, *args, **kwargs):
        if other is missing:
            return function(value, *args, **kwargs)
        charge(1 + comparison_cost(value, other))
        return function(value, other, *args, **kwargs)

    return guarded


def guarded_tests(tests):
    return {name: guarded_test(function) if name in _COMPARING_TESTS else function for name, function in tests.items()}


# Method calls ----------------------------------------------------------------------------

# str methods that pad to a width given as an argument.
_PADDING_METHODS = {"ljust", "rjust", "center", "zfill"}
# Methods that make bytes (whose own methods pad and repeat unchecked), allocate by argument, or
# replace each character with any text (translate: a character to a 200,000-character string).
_REFUSED_METHODS = {"encode", "to_bytes", "from_bytes", "translate", "maketrans"}
# Methods of lists and dicts that visit every item.
_SCANNING_METHODS = {"index", "count", "copy"}


def checked_method_arguments(method, args, kwargs):
    """The arguments of a method call, checked and charged before the call (an iterable to join
    is read once, here, and passed on as a list)."""
    owner = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    if name in _REFUSED_METHODS or isinstance(owner, (bytes, bytearray, memoryview)):
        refuse(f"'.{name}()' is not allowed in content")
    units = CALL_UNITS
    if isinstance(owner, str):
        units += len(owner) // CHARS_PER_UNIT
        if name in _PADDING_METHODS:
            width = args[0] if args else kwargs.get("width")
            if is_int(width):
                check_length(width, "width")
                units += width // CHARS_PER_UNIT
        elif name == "expandtabs":
            size = args[0] if args else kwargs.get("tabsize", 8)
            if is_int(size):
                check_length(len(owner) + owner.count("\t") * size)
        elif name == "replace" and len(args) >= 2:
            check_replace(owner, args[0], args[1])
        elif name == "join" and args:
            args = (materialised(args[0]), *args[1:])
            check_join(args[0], owner)
    elif isinstance(owner, (list, tuple, dict)) and name in _SCANNING_METHODS:
        units += len(owner)
    for argument in args:
        if type(argument) is str:
            units += len(argument) // CHARS_PER_UNIT
    charge(units)
    return args


def checked_result(value):
    """A call's result, charged for what it holds (``split`` makes one item per piece)."""
    if isinstance(value, (list, tuple, dict)):
        charge(len(value))
    return check_size(value)


# Operators ---------------------------------------------------------------------------------


def check_binop(operator, left, right):
    """``+ * ** %``: the size of the result, from the operands', before it is computed."""
    if operator == "**":
        if is_int(left) and is_int(right) and abs(left) > 1 and right > 0 and left.bit_length() * right > MAX_INT_BITS:
            refuse("exponent too large")
    elif operator == "*":
        if is_int(left) and is_int(right):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                refuse("result too large")
        elif is_int(right) and _sized(left):
            _check_repeat(left, right)
        elif is_int(left) and _sized(right):
            _check_repeat(right, left)
    elif operator == "+":
        if _sized(left) and _sized(right):
            check_length(len(left) + len(right))
            if not isinstance(left, str):
                _check_weight(weight(left) + weight(right))
            charge((len(left) + len(right)) // CHARS_PER_UNIT)
    elif operator == "%" and isinstance(left, str):
        check_format(left, right)
        charge(GUARD_UNITS)
    charge(BINOP_UNITS)


def _check_repeat(sequence, times):
    """``[s] * n`` is n references to s: cheap to build, but n times s's text when written
    out: its weight counts."""
    times = max(times, 0)
    check_length(len(sequence) * times)
    if not isinstance(sequence, str):
        _check_weight(weight(sequence) * times)
    charge(len(sequence) * times // CHARS_PER_UNIT)


def _check_weight(size):
    if size > MAX_VALUE_WEIGHT:
        refuse("value too large")


def checked_literal(value):
    """A list, tuple or dict written in the content, holding values of the data or of earlier
    expressions: weighed, so that ``[a, a, a]`` is no way around the limits."""
    charge(BINOP_UNITS + len(value))
    _check_weight(weight(value))
    return value


def checked_concat(parts):
    """``a ~ b ~ c``: the text's length, from the parts', before it is built; plain text."""
    size = sum(text_weight(part) for part in parts)
    check_length(size)
    charge(BINOP_UNITS + size // CHARS_PER_UNIT)
    return "".join([part if type(part) is str else str(part) for part in parts])


def checked_slice(value, start, stop, step):
    selected = slice(start, stop, step)
    if _sized(value):
        charge(BINOP_UNITS + len(range(*selected.indices(len(value)))) // (CHARS_PER_UNIT if isinstance(value, str) else 8))
    return value[selected]


__all__ = ["MAX_STRING_LENGTH", "MAX_INT_BITS", "REMOVED_FILTERS", "refuse", "check_length", "check_size",
           "text_weight", "guarded_filters", "guarded_tests", "checked_method_arguments", "checked_result",
           "check_binop", "checked_literal", "checked_concat", "checked_slice", "comparison_cost", "COMPARE_UNITS",
           "work"]
