"""Which data paths content reads: for checking merge fields against the data dictionary."""

from dataclasses import dataclass

from jinja2 import nodes


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


__all__ = ["FieldReference", "referenced_fields", "check_references"]
