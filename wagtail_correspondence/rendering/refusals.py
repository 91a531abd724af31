"""Static checks of content: what the sandbox would refuse at render time is refused on save,
with its line, and refused again when content saved before the checks is compiled.
"""

from jinja2 import nodes
from jinja2.exceptions import SecurityError, TemplateError

from .errors import EVALUATION_ERRORS, MergeError
from .guards import REMOVED_FILTERS, check_size, checked_method_arguments

# Tags content may not use: other templates (there are none to read), macros and call blocks
# (repetition outside the loop budget), and every way of holding or changing markup: an
# autoescape block switches escaping off; a {% set %} or {% filter %} block captures the
# template's own HTML as a value that expressions could take apart (slice, reverse,
# replace) to build tags that were never written.
FORBIDDEN_NODES = {
    nodes.Extends: "'extends' is not allowed in content",
    nodes.Include: "'include' is not allowed in content",
    nodes.Import: "'import' is not allowed in content",
    nodes.FromImport: "'fromimport' is not allowed in content",
    nodes.Macro: "'macro' is not allowed in content",
    nodes.CallBlock: "'callblock' is not allowed in content",
    nodes.EvalContextModifier: "'{% autoescape %}' is not allowed in content: merge fields are always escaped",
    nodes.AssignBlock: "'{% set %}…{% endset %}' blocks are not allowed in content: write {% set name = … %}",
    nodes.FilterBlock: "'{% filter %}' blocks are not allowed in content: apply the filter to each merge field",
}
_FORBIDDEN_TYPES = tuple(FORBIDDEN_NODES)

# Attribute-taking filters: ``|attr('__class__')``, ``|map(attribute='_x')``...
_ATTRIBUTE_FILTERS = {"attr", "map", "selectattr", "rejectattr", "sort", "groupby", "sum", "unique", "min",
                      "max", "join", "dictsort"}
# Filters that apply another filter by name: ``|map('safe')``.
_FILTER_APPLYING_FILTERS = {"map"}


def forbidden_message(node):
    for node_type, message in FORBIDDEN_NODES.items():
        if isinstance(node, node_type):
            return message
    return None


def refuse_forbidden_nodes(tree):
    """At compile time, for content saved before the checks on save: the sandbox's own refusal."""
    for node in tree.find_all(_FORBIDDEN_TYPES):
        raise SecurityError(f"{forbidden_message(node)} (line {node.lineno})")
    for node in tree.find_all(nodes.For):
        if node.recursive:
            raise SecurityError(f"recursive loops are not allowed in content (line {node.lineno})")


def self_and_descendants(tree, node_types):
    """``find_all`` leaves out the node it starts from: an expression's own top node counts."""
    if isinstance(tree, node_types):
        yield tree
    yield from tree.find_all(node_types)


def _private(name):
    return isinstance(name, str) and any(part.startswith("_") for part in name.split("."))


def refuse_unsafe(tree):
    """Static checks of content, so that what the sandbox would refuse at render time is
    already refused on save, with its line: forbidden tags, filters that make markup, private
    names (``__class__``, ``_x``), Jinja's ``self``, ``str.format`` (which reads attributes and
    pads to any width) and recursive loops. The sandbox refuses them again at render time."""
    for node in self_and_descendants(tree, (nodes.Getattr, nodes.Getitem, nodes.Name, nodes.For, nodes.Call,
                                            nodes.Filter, *_FORBIDDEN_TYPES)):
        where = f"(line {node.lineno})"
        message = forbidden_message(node)
        if message:
            raise MergeError(f"{message} {where}")
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
        if isinstance(node, nodes.Filter):
            if node.name in REMOVED_FILTERS:
                raise MergeError(f"{REMOVED_FILTERS[node.name]} {where}")
            arguments = [*node.args, *(keyword.value for keyword in node.kwargs)]
            if node.name in _FILTER_APPLYING_FILTERS and node.args and isinstance(node.args[0], nodes.Const) \
                    and node.args[0].value in REMOVED_FILTERS:
                raise MergeError(f"{REMOVED_FILTERS[node.args[0].value]} {where}")
            if node.name in _ATTRIBUTE_FILTERS:
                for argument in arguments:
                    if isinstance(argument, nodes.Const) and _private(argument.value):
                        raise MergeError(f"'{argument.value}' is not allowed: names starting with '_' are private "
                                         f"{where}")


class _NotConstant(Exception):
    pass


def _constant(node, env):
    """The value of an expression made of literals only, computed with the sandbox's checks."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, (nodes.List, nodes.Tuple)):
        items = [_constant(item, env) for item in node.items]
        return env.checked_literal(items if isinstance(node, nodes.List) else tuple(items))
    if isinstance(node, nodes.BinExpr) and node.operator in env.binop_table:
        left, right = _constant(node.left, env), _constant(node.right, env)
        if node.operator in env.intercepted_binops:
            return env.call_binop(None, node.operator, left, right)
        return env.binop_table[node.operator](left, right)
    if isinstance(node, nodes.UnaryExpr) and node.operator in env.unop_table:
        return env.unop_table[node.operator](_constant(node.node, env))
    if isinstance(node, nodes.Concat):
        return env.checked_concat(tuple(_constant(item, env) for item in node.nodes))
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
            return check_size(method(*checked_method_arguments(method, args, kwargs), **kwargs))
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
    for node in self_and_descendants(tree, (nodes.BinExpr, nodes.UnaryExpr, nodes.Call, nodes.Filter, nodes.Concat,
                                            nodes.List, nodes.Tuple)):
        try:
            _constant(node, env)
        except _NotConstant:
            continue
        except SecurityError as exc:
            raise MergeError(f"refused by the sandbox: {exc} (line {node.lineno})") from exc
        except (TemplateError, *EVALUATION_ERRORS) as exc:
            raise MergeError(f"cannot evaluate: {exc} (line {node.lineno})") from exc


__all__ = ["FORBIDDEN_NODES", "refuse_unsafe", "refuse_forbidden_nodes", "refuse_runaway_constants",
           "self_and_descendants"]
