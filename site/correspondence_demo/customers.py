"""The demo's customer data source: the records of ``demo_data/customers.json`` with their
payment due date kept as far ahead of today as it was of the day the file was written.

The demo's data rules refuse a payment reminder due before the letter's date; with fixed
dates in the file, every demo letter would be refused once that day passed."""

import datetime

from django.utils import timezone

from wagtail_correspondence.customers import JSONFileCustomerSource

WRITTEN_ON = datetime.date(2026, 12, 5)


class DemoCustomerSource(JSONFileCustomerSource):
    def get(self, customer_id):
        record = super().get(customer_id)
        shift = timezone.localdate() - WRITTEN_ON
        due = record.get("due_date")
        if shift.days > 0 and isinstance(due, str):
            try:
                record["due_date"] = (datetime.date.fromisoformat(due) + shift).isoformat()
            except ValueError:
                pass  # not a date: the dictionary reports it
        return record
