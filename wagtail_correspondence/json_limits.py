"""Bounded JSON: every JSON text that comes from outside (API bodies, batch files, the letter
builder, the admin's JSON fields, delivery receipts) is checked for its nesting depth *before*
it is parsed. Python's parser recurses once per level and gives up with RecursionError a
thousand levels down, which would be a 500; the code that walks the data afterwards (merging,
validation, encryption) recurses too. The limit is
``WAGTAIL_CORRESPONDENCE["INPUT_LIMITS"]["JSON_MAX_DEPTH"]`` (32: letter data needs about 6).

A refusal names where the limit was passed, as a path into the value
(``data.customer.a.a: nested more than 32 levels``; list items as ``[0]``, odd keys as
``["key"]``), so that every caller can answer 400 naming the field.

The CSV side lives here too: ``csv_max_cell_chars`` and ``csv_cells_up_to``, which lets the
csv module read cells up to the file size so that the product, not the csv module, decides
(and says which row and column) when a cell is too large.
"""

import contextlib
import csv
import json
import re
import threading

from django import forms
from django.forms.fields import InvalidJSONInput
from django.utils.translation import gettext as _

from .conf import get_setting

# A whole string (escapes included), a quote that opens a string never closed, or a bracket.
_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|"|[\[\]{}]')
# The same with object keys (a string followed by ":") and commas, to follow the path.
_PATH_TOKENS = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")(\s*:)?|"|[\[\]{},]')
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_KEY_SHOWN = 60  # characters of a key shown in a path


def max_depth():
    return get_setting("INPUT_LIMITS")["JSON_MAX_DEPTH"]


def csv_max_cell_chars():
    return get_setting("INPUT_LIMITS")["CSV_MAX_CELL_CHARS"]


class JSONTooDeep(ValueError):
    """JSON nested deeper than the limit; ``path`` says where (``""`` for the value itself)."""

    def __init__(self, path, limit):
        super().__init__(path, limit)
        self.path = path
        self.limit = limit

    def __str__(self):
        return self.message

    @property
    def message(self):
        return _("%(path)s: nested more than %(limit)s levels") % {"path": self.path or _("the value"),
                                                                   "limit": self.limit}

    @property
    def short_message(self):
        return _("Nested more than %(limit)s levels.") % {"limit": self.limit}


def _key(key):
    if len(key) > _KEY_SHOWN:
        key = key[:_KEY_SHOWN] + "…"
    return key if _PLAIN_KEY.match(key) else f"[{json.dumps(key, ensure_ascii=False)}]"


def join_path(prefix, step):
    """``prefix`` followed by an object key (str) or a list index (int)."""
    if isinstance(step, int):
        return f"{prefix}[{step}]"
    shown = _key(step)
    if shown.startswith("[") or not prefix:
        return prefix + shown
    return f"{prefix}.{shown}"


def check_text(text, limit=None, path="", depth=0):
    """Raise ``JSONTooDeep`` if the JSON ``text`` (placed ``depth`` levels down already) opens
    more than ``limit`` nested arrays or objects. Text that is not JSON passes: the parser
    reports it as usual. One regular expression finds strings and brackets, so brackets
    inside strings do not count."""
    limit = max_depth() if limit is None else limit
    if depth + text.count("[") + text.count("{") <= limit:
        return  # cannot be deeper, whatever the strings hold
    for match in _STRUCTURE.finditer(text):
        char = match.group()[0]
        if char == '"':
            if len(match.group()) == 1:
                return  # a string never closed: not JSON, the parser will say so
        elif char in "[{":
            depth += 1
            if depth > limit:
                raise JSONTooDeep(_path_at(text, match.start(), path), limit)
        else:
            depth -= 1


def _path_at(text, position, path):
    """The path of the container opening at ``position`` (found again with keys and commas:
    only done for a refusal)."""
    frames = []  # [kind, key or index] for each open container
    for match in _PATH_TOKENS.finditer(text, 0, position):
        token = match.group()
        if match.group(1):
            if match.group(2) and frames and frames[-1][0] == "{":
                try:
                    frames[-1][1] = json.loads(match.group(1))
                except ValueError:
                    frames[-1][1] = match.group(1)[1:-1]
        elif token in "[{":
            frames.append([token, 0 if token == "[" else None])
        elif token in "]}":
            if frames:
                frames.pop()
        elif token == "," and frames and frames[-1][0] == "[":
            frames[-1][1] += 1
    for _kind, step in frames:
        if step is not None:
            path = join_path(path, step)
    return path


def check_value(value, limit=None, path="", depth=0):
    """Raise ``JSONTooDeep`` if the parsed ``value`` (placed ``depth`` levels down already)
    nests more than ``limit`` lists and dicts. Iterative: a deep value cannot exhaust the
    stack here."""
    limit = max_depth() if limit is None else limit
    pending = [(value, path, depth)]
    while pending:
        item, where, level = pending.pop()
        if isinstance(item, dict):
            children = [(child, join_path(where, str(key))) for key, child in item.items()]
        elif isinstance(item, (list, tuple)):
            children = [(child, join_path(where, index)) for index, child in enumerate(item)]
        else:
            continue
        if level + 1 > limit:
            raise JSONTooDeep(where, limit)
        pending.extend((child, child_path, level + 1) for child, child_path in children)


def loads(text, limit=None, path="", depth=0, **kwargs):
    """``json.loads`` after the depth check (``check_text``). Raises ``JSONTooDeep`` or another
    ``ValueError`` (``json.JSONDecodeError``, or a number too long for Python to convert)."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")  # UnicodeDecodeError is a ValueError too
    if not isinstance(text, str):
        raise TypeError(f"JSON must be text, not {type(text).__name__}")
    check_text(text, limit, path, depth)
    return json.loads(text, **kwargs)


class BoundedJSONFormField(forms.JSONField):
    """Django's JSON form field with the depth check; a number too long to convert is
    invalid input as well, not an error of the server."""

    def to_python(self, value):
        if isinstance(value, str) and not self.disabled:
            try:
                check_text(value)
            except JSONTooDeep as exc:
                raise forms.ValidationError(exc.message, code="too_deep") from None
            try:
                return super().to_python(value)
            except ValueError as exc:
                if isinstance(exc, forms.ValidationError):
                    raise
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid",
                                            params={"value": value}) from None
        return super().to_python(value)

    def bound_data(self, data, initial):
        # Shown again in the form after an error: the text as typed, never parsed past the limit.
        if isinstance(data, str) and not self.disabled:
            try:
                check_text(data)
                return super().bound_data(data, initial)
            except ValueError:
                return InvalidJSONInput(data)
        return super().bound_data(data, initial)


def register_form_field_override():
    """Every JSON field of a model in a Wagtail admin form (snippets, modeladmin, inline
    panels) gets the bounded form field, the plugin's models and any other."""
    from django.db import models
    from wagtail.admin.forms.models import register_form_field_override as register

    register(models.JSONField, override={"form_class": BoundedJSONFormField})


# CSV -------------------------------------------------------------------------------------

_csv_lock = threading.Lock()
_csv_readers = 0
_csv_limit_before = None


@contextlib.contextmanager
def csv_cells_up_to(size):
    """Let the csv module read cells of up to ``size`` characters while the block runs (its
    own limit, 128 KB, fails with a bare ``_csv.Error`` naming neither row nor column).

    The csv module keeps one limit for the whole process: it is raised while any reader of
    ours runs and put back when the last one ends."""
    global _csv_readers, _csv_limit_before
    with _csv_lock:
        if _csv_readers == 0:
            _csv_limit_before = csv.field_size_limit()
        _csv_readers += 1
        csv.field_size_limit(max(size, csv.field_size_limit()))
    try:
        yield
    finally:
        with _csv_lock:
            _csv_readers -= 1
            if _csv_readers == 0:
                csv.field_size_limit(_csv_limit_before)
