"""Data dictionary logic that needs no database: field specs, JSON Schema, payload validation.

A data dictionary is a flat list of fields with dotted names (``customer.address``,
``balance``). A field of type ``list`` holds records; its sub-fields are named below it
(``invoices.number`` under the list ``invoices``). Addresses are structured values with the
parts in ``ADDRESS_PARTS``.
"""

import datetime
import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

TEXT, NUMBER, MONEY, DATE, BOOLEAN, EMAIL, PHONE, ADDRESS, LIST = (
    "text", "number", "money", "date", "boolean", "email", "phone", "address", "list",
)
FIELD_TYPE_CHOICES = [
    (TEXT, _("Text")),
    (NUMBER, _("Number")),
    (MONEY, _("Money amount")),
    (DATE, _("Date")),
    (BOOLEAN, _("Yes / no")),
    (EMAIL, _("Email address")),
    (PHONE, _("Phone number")),
    (ADDRESS, _("Postal address")),
    (LIST, _("List of records")),
]
ADDRESS_PARTS = ("name", "line1", "line2", "postal_code", "city", "region", "country")
FIELD_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{6,20}$")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str = ""
    type: str = TEXT
    required: bool = False
    example: str = ""
    help: str = ""

    @property
    def display(self):
        return f"{self.label} ({self.name})" if self.label else self.name


@dataclass(frozen=True)
class FieldError:
    """One problem with a payload, located by its path in the data (``invoices[2].amount``)."""

    path: str
    message: str

    def __str__(self):
        return f"{self.path}: {self.message}"


@dataclass
class FieldIndex:
    """Answers "is this dotted path a known field?" for merge-field validation."""

    specs: dict = field(default_factory=dict)

    @classmethod
    def from_specs(cls, specs):
        return cls({spec.name: spec for spec in specs})

    def get(self, name):
        return self.specs.get(name)

    def list_parent(self, name):
        """The nearest list field that ``name`` is nested under, or None."""
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            spec = self.specs.get(".".join(parts[:cut]))
            if spec is not None and spec.type == LIST:
                return spec
        return None

    def explain_path(self, path):
        """None if ``path`` names data the dictionary describes, else a message saying why not."""
        if path in self.specs:
            return None
        # A prefix of known fields is an object ("customer" when "customer.name" exists).
        if any(name.startswith(path + ".") for name in self.specs):
            return None
        parts = path.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:cut])
            spec = self.specs.get(prefix)
            if spec is None:
                continue
            rest = parts[cut:]
            if spec.type == ADDRESS and len(rest) == 1 and rest[0] in ADDRESS_PARTS:
                return None
            if spec.type == ADDRESS:
                return _("'%(path)s' is not part of an address (use one of: %(parts)s)") % {
                    "path": path, "parts": ", ".join(ADDRESS_PARTS)}
            if spec.type == LIST:
                return _("'%(path)s' is not a sub-field of the list '%(list)s'") % {"path": path, "list": prefix}
            return _("'%(prefix)s' is a %(type)s field and has no part '%(rest)s'") % {
                "prefix": prefix, "type": spec.type, "rest": ".".join(rest)}
        return _("unknown merge field '%(path)s'") % {"path": path}

    def names(self):
        return sorted(self.specs)


def check_field_specs(specs):
    """Problems with the definition of the dictionary itself, as (index, field, message)."""
    problems = []
    seen = {}
    by_name = {spec.name: spec for spec in specs}
    for index, spec in enumerate(specs):
        if not FIELD_NAME_RE.match(spec.name or ""):
            problems.append((index, "name", _(
                "'%(name)s' is not a valid field name: use lower-case words separated by dots, "
                "such as customer.first_name") % {"name": spec.name}))
            continue
        if spec.name in seen:
            problems.append((index, "name", _("The field name '%(name)s' is used twice") % {"name": spec.name}))
        seen[spec.name] = index
        parts = spec.name.split(".")
        for cut in range(1, len(parts)):
            parent = by_name.get(".".join(parts[:cut]))
            if parent is not None and parent.type not in (LIST,):
                problems.append((index, "name", _(
                    "'%(name)s' cannot sit under '%(parent)s', which is a %(type)s field") % {
                    "name": spec.name, "parent": parent.name, "type": parent.type}))
    return problems


def _json_type_for(spec):
    if spec.type in (TEXT, PHONE):
        schema = {"type": "string"}
        if spec.type == PHONE:
            schema["pattern"] = PHONE_RE.pattern
        return schema
    if spec.type == EMAIL:
        return {"type": "string", "format": "email"}
    if spec.type == NUMBER:
        return {"type": "number"}
    if spec.type == MONEY:
        return {"type": ["number", "string"], "pattern": r"^-?\d+(\.\d+)?$"}
    if spec.type == DATE:
        return {"type": "string", "format": "date"}
    if spec.type == BOOLEAN:
        return {"type": "boolean"}
    if spec.type == ADDRESS:
        return {
            "type": "object",
            "properties": {part: {"type": "string"} for part in ADDRESS_PARTS},
            "required": ["line1", "city"],
            "additionalProperties": False,
        }
    if spec.type == LIST:
        return {"type": "array", "items": {"type": "object", "properties": {}, "required": []}}
    raise ValueError(spec.type)


def json_schema(specs, title=""):
    """JSON Schema (draft 2020-12) for payloads matching the dictionary."""
    root = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "properties": {},
        "required": [],
    }
    index = FieldIndex.from_specs(specs)

    def container_for(name):
        """The (object schema, property key) where ``name`` lives."""
        parts = name.split(".")
        node = root
        walked = []
        for part in parts[:-1]:
            walked.append(part)
            spec = index.get(".".join(walked))
            child = node["properties"].setdefault(part, {"type": "object", "properties": {}, "required": []})
            if spec is not None and spec.type == LIST:
                child = child["items"]
            node = child
        return node, parts[-1]

    for spec in sorted(specs, key=lambda s: s.name.count(".")):
        node, key = container_for(spec.name)
        existing = node["properties"].get(key, {})
        schema = _json_type_for(spec)
        if spec.type == LIST and "items" in existing:
            schema["items"] = existing["items"]
        elif existing.get("properties") and spec.type != LIST:
            schema = existing
        if spec.label:
            schema["title"] = spec.label
        if spec.help:
            schema["description"] = spec.help
        if spec.example:
            schema["examples"] = [spec.example]
        node["properties"][key] = schema
        if spec.required and key not in node["required"]:
            node["required"].append(key)
    return root


def value_at(data, path):
    """The value at a dotted path of letter data ("customer.address.city"), or None where the
    path leads nowhere."""
    return _lookup(data, path.split("."))[1]


def _lookup(data, parts):
    for part in parts:
        if not isinstance(data, dict) or part not in data:
            return False, None
        data = data[part]
    return True, data


def _is_blank(value):
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def check_value(spec, value):
    """None if ``value`` fits ``spec``, else a message."""
    if spec.type == TEXT:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            return _("must be text")
    elif spec.type == NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return _("must be a number")
        try:
            Decimal(str(value))
        except InvalidOperation:
            return _("must be a number, not '%(value)s'") % {"value": value}
    elif spec.type == MONEY:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return _("must be an amount such as 120.50")
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            return _("must be an amount such as 120.50, not '%(value)s'") % {"value": value}
        if not amount.is_finite() or amount.as_tuple().exponent < -2:
            return _("must be an amount with at most two decimals")
    elif spec.type == DATE:
        if not isinstance(value, str):
            return _("must be a date written YYYY-MM-DD")
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            return _("must be a date written YYYY-MM-DD, not '%(value)s'") % {"value": value}
    elif spec.type == BOOLEAN:
        if not isinstance(value, bool):
            return _("must be true or false")
    elif spec.type == EMAIL:
        try:
            validate_email(value if isinstance(value, str) else "")
        except ValidationError:
            return _("must be an email address, not '%(value)s'") % {"value": value}
    elif spec.type == PHONE:
        if not isinstance(value, str) or not PHONE_RE.match(value):
            return _("must be a phone number such as +32 2 555 01 23, not '%(value)s'") % {"value": value}
    elif spec.type == ADDRESS:
        if not isinstance(value, dict):
            return _("must be an address with line1, postal_code, city, country")
        unknown = sorted(set(value) - set(ADDRESS_PARTS))
        if unknown:
            return _("has unknown address parts: %(parts)s") % {"parts": ", ".join(unknown)}
        missing = [part for part in ("line1", "city") if _is_blank(value.get(part))]
        if missing:
            return _("is missing %(parts)s") % {"parts": ", ".join(missing)}
    elif spec.type == LIST:
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            return _("must be a list of records")
    return None


@functools.lru_cache(maxsize=256)
def _structure(specs):
    """The fields at the top level and the fields of each list, in the dictionary's order:
    worked out once per dictionary (``specs`` as a tuple), not for every payload."""
    index = FieldIndex.from_specs(specs)
    top_level = tuple(spec for spec in specs if index.list_parent(spec.name) is None)
    children = {spec.name: tuple((child, tuple(child.name[len(spec.name) + 1:].split(".")))
                                 for child in specs if index.list_parent(child.name) is spec)
                for spec in specs if spec.type == LIST}
    return top_level, children


def validate_payload(specs, data):
    """Every problem with ``data``, as FieldErrors naming the field (``invoices[1].amount``)."""
    if not isinstance(data, dict):
        return [FieldError("(root)", str(_("data must be a JSON object")))]
    errors = []
    top_level, children_of = _structure(tuple(specs))

    def check(spec, container, parts, display_path):
        present, value = _lookup(container, parts)
        if not present or _is_blank(value):
            if spec.required:
                errors.append(FieldError(display_path, str(_("%(label)s is required") % {
                    "label": spec.label or spec.name})))
            return
        message = check_value(spec, value)
        if message:
            errors.append(FieldError(display_path, f"{spec.label or spec.name} {message}"))
            return
        if spec.type == LIST:
            for position, item in enumerate(value):
                for child, rest in children_of[spec.name]:
                    check(child, item, rest, f"{display_path}[{position}].{'.'.join(rest)}")

    for spec in top_level:
        check(spec, data, spec.name.split("."), spec.name)
    return errors


def _coerce_value(spec, value):
    if spec.type in (NUMBER, MONEY):
        number = Decimal(str(value))
        return number
    if spec.type == DATE:
        return datetime.date.fromisoformat(value)
    return value


def coerce_payload(specs, data):
    """A copy of ``data`` with typed values: numbers and money as Decimal, dates as date, so
    that conditions such as ``balance > 100`` compare numbers, not strings. Values that do not
    fit their field are left as they are (validation reports them)."""
    import copy

    top_level, children_of = _structure(tuple(specs))
    result = copy.deepcopy(data)

    def convert(spec, container, parts):
        for part in parts[:-1]:
            if not isinstance(container, dict) or part not in container:
                return
            container = container[part]
        if not isinstance(container, dict) or parts[-1] not in container:
            return
        value = container[parts[-1]]
        if _is_blank(value) or check_value(spec, value):
            return
        if spec.type == LIST:
            for item in value:
                for child, rest in children_of[spec.name]:
                    convert(child, item, rest)
            return
        container[parts[-1]] = _coerce_value(spec, value)

    if isinstance(result, dict):
        for spec in top_level:
            convert(spec, result, spec.name.split("."))
    return result
