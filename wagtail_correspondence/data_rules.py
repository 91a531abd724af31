"""Rules across a letter's data, which no single field's type can express: "the due date is
after the letter's date", "the amount due is greater than 0", "a reason is required when the
letter is a refusal". Pure logic (no database): the models (``models.data_rules``) turn their
rows into ``RuleSpec`` and letter assembly evaluates them on the typed data, so the builder's
preview, generation, the API and a batch's dry run refuse the same letters.

A rule states what must hold; its message is shown, naming the field, when it does not. A
rule on a field the data does not have is skipped (whether the field is required is the
dictionary's business), except ``required_if``, whose point is to require it.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import schema

COMPARE_VALUE, COMPARE_FIELD, COMPARE_LETTER_DATE, REQUIRED_IF = "value", "field", "letter_date", "required_if"
KIND_CHOICES = [
    (COMPARE_VALUE, gettext_lazy("compared to a value")),
    (COMPARE_FIELD, gettext_lazy("compared to another field")),
    (COMPARE_LETTER_DATE, gettext_lazy("compared to the letter's date")),
    (REQUIRED_IF, gettext_lazy("required if another field is set")),
]
GT, GTE, LT, LTE, EQ, NE = "gt", "gte", "lt", "lte", "eq", "ne"
OPERATOR_CHOICES = [
    (GT, gettext_lazy("greater than / after")),
    (GTE, gettext_lazy("at least / on or after")),
    (LT, gettext_lazy("less than / before")),
    (LTE, gettext_lazy("at most / on or before")),
    (EQ, gettext_lazy("equal to")),
    (NE, gettext_lazy("different from")),
]
COMPARE = {GT: lambda a, b: a > b, GTE: lambda a, b: a >= b, LT: lambda a, b: a < b, LTE: lambda a, b: a <= b,
           EQ: lambda a, b: a == b, NE: lambda a, b: a != b}
ORDERED_TYPES = (schema.NUMBER, schema.MONEY, schema.DATE)
EQUALITY_ONLY = (EQ, NE)


@dataclass(frozen=True)
class RuleSpec:
    kind: str
    field: str
    operator: str = GT
    other_field: str = ""
    value: str = ""
    message: str = ""
    origin: str = ""  # where the rule is kept, for messages about the rule itself ("Template rule 2")


@dataclass(frozen=True)
class RuleProblem:
    field: str
    message: str
    misconfigured: bool = False  # the rule itself is wrong (content to fix), not the data


class _Misconfigured(Exception):
    pass


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip()) or value in ([], {})


def _spec(index, path, origin):
    spec = index.get(path)
    if spec is None:
        raise _Misconfigured(_("%(origin)s: the data dictionary has no field '%(field)s'.") % {
            "origin": origin, "field": path})
    if spec.type in (schema.LIST, schema.ADDRESS) or index.list_parent(path) is not None:
        raise _Misconfigured(_("%(origin)s: '%(field)s' is a list or an address, or part of a list; rules compare "
                               "single values.") % {"origin": origin, "field": path})
    return spec


def parse_constant(spec, text):
    """The rule's constant as a value of the field's type (Decimal, date, bool, text)."""
    text = (text or "").strip()
    if spec.type in (schema.NUMBER, schema.MONEY):
        try:
            return Decimal(text)
        except InvalidOperation:
            raise ValueError(_("'%(value)s' is not a number.") % {"value": text}) from None
    if spec.type == schema.DATE:
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            raise ValueError(_("'%(value)s' is not a date (YYYY-MM-DD).") % {"value": text}) from None
    if spec.type == schema.BOOLEAN:
        lowered = text.lower()
        if lowered not in ("true", "false", "yes", "no"):
            raise ValueError(_("'%(value)s' is not yes or no.") % {"value": text})
        return lowered in ("true", "yes")
    return text


def _typed(spec, value):
    """The data's value if it has the field's type after coercion (else the dictionary's own
    validation reports it, and the rule says nothing more)."""
    if spec.type in (schema.NUMBER, schema.MONEY):
        return value if isinstance(value, Decimal) else None
    if spec.type == schema.DATE:
        return value if isinstance(value, datetime.date) else None
    return value


def _phrase(operator, is_date):
    dates = {GT: _("after"), GTE: _("on or after"), LT: _("before"), LTE: _("on or before"), EQ: _("equal to"),
             NE: _("different from")}
    numbers = {GT: _("greater than"), GTE: _("at least"), LT: _("less than"), LTE: _("at most"),
               EQ: _("equal to"), NE: _("different from")}
    return (dates if is_date else numbers)[operator]


def _days(rule):
    """For the letter's date: the rule's value is a number of days added to it (may be empty)."""
    text = (rule.value or "").strip()
    if not text:
        return 0
    try:
        return int(text)
    except ValueError:
        raise _Misconfigured(_("%(origin)s: '%(value)s' is not a number of days.") % {
            "origin": rule.origin, "value": text}) from None


def _check(rule, data, letter_date, index):
    """None when the rule holds (or does not apply), else the RuleProblem."""
    if rule.operator not in COMPARE:
        raise _Misconfigured(_("%(origin)s: unknown comparison '%(operator)s'.") % {
            "origin": rule.origin, "operator": rule.operator})
    spec = _spec(index, rule.field, rule.origin)
    label = spec.label or spec.name
    if rule.kind == REQUIRED_IF:
        condition = _spec(index, rule.other_field, rule.origin)
        other = _typed(condition, schema.value_at(data, rule.other_field))
        if _blank(other):
            return None
        if (rule.value or "").strip():
            try:
                expected = parse_constant(condition, rule.value)
            except ValueError as exc:
                raise _Misconfigured(f"{rule.origin}: {exc}") from None
            if not _comparable(other, expected) or not COMPARE[rule.operator](other, expected):
                return None
        if not _blank(schema.value_at(data, rule.field)):
            return None
        return RuleProblem(rule.field, rule.message or _("%(label)s is required when %(other)s is given.") % {
            "label": label, "other": condition.label or condition.name})

    value = _typed(spec, schema.value_at(data, rule.field))
    if _blank(value):
        return None
    if spec.type not in ORDERED_TYPES and rule.operator not in EQUALITY_ONLY:
        raise _Misconfigured(_("%(origin)s: %(field)s is %(type)s; it can only be equal to or different from "
                               "something.") % {"origin": rule.origin, "field": rule.field, "type": spec.type})
    if rule.kind == COMPARE_LETTER_DATE:
        if spec.type != schema.DATE:
            raise _Misconfigured(_("%(origin)s: only a date can be compared to the letter's date ('%(field)s' is "
                                   "%(type)s).") % {"origin": rule.origin, "field": rule.field, "type": spec.type})
        days = _days(rule)
        other = letter_date + datetime.timedelta(days=days)
        if days:
            what = _("the letter's date + %(days)s days") % {"days": days}
        else:
            what = _("the letter's date")
    elif rule.kind == COMPARE_FIELD:
        other_spec = _spec(index, rule.other_field, rule.origin)
        other = _typed(other_spec, schema.value_at(data, rule.other_field))
        if _blank(other):
            return None
        what = other_spec.label or other_spec.name
    elif rule.kind == COMPARE_VALUE:
        try:
            other = parse_constant(spec, rule.value)
        except ValueError as exc:
            raise _Misconfigured(f"{rule.origin}: {exc}") from None
        what = str(rule.value).strip()
    else:
        raise _Misconfigured(_("%(origin)s: unknown kind of rule '%(kind)s'.") % {
            "origin": rule.origin, "kind": rule.kind})
    if not _comparable(value, other):
        raise _Misconfigured(_("%(origin)s: '%(field)s' cannot be compared to %(what)s.") % {
            "origin": rule.origin, "field": rule.field, "what": what})
    if COMPARE[rule.operator](value, other):
        return None
    return RuleProblem(rule.field, rule.message or _("%(label)s must be %(phrase)s %(what)s.") % {
        "label": label, "phrase": _phrase(rule.operator, spec.type == schema.DATE), "what": what})


def _comparable(a, b):
    numbers = (Decimal, int)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, numbers) and isinstance(b, numbers):
        return True
    if isinstance(a, datetime.date) and isinstance(b, datetime.date):
        return True
    return isinstance(a, str) and isinstance(b, str)


def evaluate(rules, data, letter_date, index):
    """Every rule that does not hold for ``data`` (typed, as ``coerce_payload`` makes it), as
    RuleProblems naming the field; a rule that cannot be applied as written is a problem too
    (``misconfigured``), so that a broken rule refuses letters instead of letting them pass."""
    problems = []
    for rule in rules:
        try:
            problem = _check(rule, data if isinstance(data, dict) else {}, letter_date, index)
        except _Misconfigured as exc:
            problem = RuleProblem("template", str(exc), misconfigured=True)
        if problem is not None:
            problems.append(problem)
    return problems


def condition_holds(rule, data, letter_date, index):
    """Whether the comparison ``rule`` holds for ``data``, when a rule is a condition (letters
    that need approval) rather than a requirement: a field the dictionary does not have, or the
    data leaves empty, does not hold. Raises ValueError when the rule cannot be applied as
    written (the caller decides what a broken condition means)."""
    if index.get(rule.field) is None:
        return False
    data = data if isinstance(data, dict) else {}
    try:
        spec = _spec(index, rule.field, rule.origin)
        if _blank(_typed(spec, schema.value_at(data, rule.field))):
            return False
        return _check(rule, data, letter_date, index) is None
    except _Misconfigured as exc:
        raise ValueError(str(exc)) from None


def check_rule_shape(kind, operator, field, other_field, value):
    """What is wrong with a rule as typed, before any dictionary is known, as {field: message}."""
    errors = {}
    if field and not schema.FIELD_NAME_RE.match(field):
        errors["field"] = _("Use the dotted name of a data field, such as due_date.")
    if kind in (COMPARE_FIELD, REQUIRED_IF) and not other_field:
        errors["other_field"] = _("Name the other field.")
    elif other_field and not schema.FIELD_NAME_RE.match(other_field):
        errors["other_field"] = _("Use the dotted name of a data field, such as letter_type.")
    if kind == COMPARE_VALUE and not (value or "").strip():
        errors["value"] = _("Give the value to compare to.")
    if kind == COMPARE_LETTER_DATE and (value or "").strip():
        try:
            int(value.strip())
        except ValueError:
            errors["value"] = _("For the letter's date, give a number of days (or leave it empty).")
    return errors
