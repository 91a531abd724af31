"""Missing data: a merge field the data does not have.

Outside ``collect_missing()`` a missing merge field is an error, as with Jinja's
StrictUndefined. Inside it, each missing field used by the content is recorded by its path
in the data and shown as a marker, so that a letter preview can list *every* missing field
at once (and point at it in place) instead of stopping at the first.
"""

import contextlib
import contextvars

from jinja2 import Undefined
from jinja2.utils import missing
from markupsafe import Markup

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


__all__ = ["DataDict", "DataList", "with_paths", "MissingFields", "collect_missing", "record_missing",
           "TrackingUndefined"]
