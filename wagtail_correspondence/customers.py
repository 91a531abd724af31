"""Customer data sources: where the letter builder and the API find customer records.

A source is configured as ``WAGTAIL_CORRESPONDENCE["CUSTOMER_DATA_SOURCE"] = {"BACKEND": ...,
"OPTIONS": {...}}``. Organisations plug in their CRM by subclassing ``CustomerDataSource``.
"""

import json
import threading
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .conf import load_backend

SUMMARY_FIELDS = ("id", "full_name", "email", "phone", "preferred_channel", "language")


class CustomerNotFound(LookupError):
    pass


class CustomerDataSource:
    """Interface: ``search(query, limit)`` returns summaries; ``get(customer_id)`` returns the
    full record as letter data (the shape the data dictionary describes)."""

    def search(self, query="", limit=20):
        raise NotImplementedError

    def get(self, customer_id):
        raise NotImplementedError

    @staticmethod
    def summarise(record):
        customer = record.get("customer", {})
        return {key: customer.get(key, "") for key in SUMMARY_FIELDS}


class JSONFileCustomerSource(CustomerDataSource):
    """Reads records from a JSON file: a list of objects, each shaped like letter data
    (``{"customer": {"id": ...}, "balance": ..., "invoices": [...]}``)."""

    def __init__(self, path=None):
        if not path:
            raise ImproperlyConfigured("JSONFileCustomerSource needs OPTIONS['path']")
        self.path = Path(path)
        self._lock = threading.Lock()
        self._cache = None
        self._mtime = None

    def _records(self):
        with self._lock:
            mtime = self.path.stat().st_mtime
            if self._cache is None or mtime != self._mtime:
                records = json.loads(self.path.read_text(encoding="utf-8"))
                if not isinstance(records, list):
                    raise ImproperlyConfigured(f"{self.path} must hold a JSON list of customer records")
                self._cache = {str(record["customer"]["id"]): record for record in records}
                self._mtime = mtime
            return self._cache

    def search(self, query="", limit=20):
        terms = query.casefold().split()
        results = []
        for record in self._records().values():
            customer = record.get("customer", {})
            haystack = " ".join(str(customer.get(key, "")) for key in ("id", "full_name", "email", "phone")).casefold()
            if all(term in haystack for term in terms):
                results.append(self.summarise(record))
        results.sort(key=lambda summary: summary["full_name"])
        return results[:limit]

    def get(self, customer_id):
        try:
            return json.loads(json.dumps(self._records()[str(customer_id)]))  # a copy callers may change
        except KeyError:
            raise CustomerNotFound(customer_id) from None


_source = None
_source_lock = threading.Lock()


def get_customer_source():
    global _source
    with _source_lock:
        if _source is None:
            _source = load_backend("CUSTOMER_DATA_SOURCE")
        return _source


def reset_customer_source():
    """Forget the configured source (tests change settings)."""
    global _source
    with _source_lock:
        _source = None
