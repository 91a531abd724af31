"""Spreadsheet exports that no spreadsheet program reads as formulas (OWASP's CSV injection
rule), in one place: ``FormulaSafeExportMixin`` for every admin view that exports (over
Wagtail's ``SpreadsheetExportMixin``) and ``formula_safe_csv_writer`` for files the product
writes itself (the print room's manifest).

The rule: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
gets a leading single quote, so it is shown as text; every CSV cell is quoted, so that a
separator inside a value (``Dupont;=1+1``) cannot start a new cell when a spreadsheet in a
``;`` locale opens the file; XLSX cells holding text are always stored as text (never a
formula, never an error code). Numbers, dates and booleans are left as they are: a negative
amount stays a number; the text "-5" typed by a customer is text and is quoted.
"""

import csv
import datetime
import decimal

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from wagtail.admin.views.mixins import Echo, SpreadsheetExportMixin

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """The value, with a leading single quote if it is text a spreadsheet would evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def xml_safe(value):
    """Text without the control characters XML (and so XLSX) cannot hold; openpyxl would
    refuse the whole export over one of them."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value) if isinstance(value, str) else value


class FormulaSafeExportMixin(SpreadsheetExportMixin):
    """Wagtail's spreadsheet export with every cell neutralised. Put it first among the bases
    of any view that exports (``class View(FormulaSafeExportMixin, IndexView)``)."""

    def preprocess_field_value(self, field, value, export_format):
        # After Wagtail's own conversions (model instances and lists become text), so that the
        # text that is finally written is what gets checked.
        value = neutralise(super().preprocess_field_value(field, value, export_format))
        return xml_safe(value) if export_format == self.FORMAT_XLSX else value

    def get_heading(self, queryset, field):
        return neutralise(xml_safe(super().get_heading(queryset, field)))

    def generate_xlsx_row(self, worksheet, row_dict, date_format=None):
        for cell in super().generate_xlsx_row(worksheet, row_dict, date_format=date_format):
            if isinstance(cell.value, str):
                # openpyxl guesses a type from the text: "=..." a formula, "#N/A" an error.
                cell.data_type = "s"
            yield cell

    def stream_csv(self, queryset):
        # As Wagtail's, with every cell quoted.
        writer = csv.DictWriter(Echo(), fieldnames=self.list_export, quoting=csv.QUOTE_ALL)
        yield writer.writerow({field: self.get_heading(queryset, field) for field in self.list_export})
        for item in queryset:
            yield self.write_csv_row(writer, self.to_row_dict(item))


def formula_safe_csv_writer(handle, fieldnames):
    """A ``csv.DictWriter`` that quotes every cell and neutralises every value it writes."""
    return _SafeDictWriter(handle, fieldnames=fieldnames, quoting=csv.QUOTE_ALL)


class _SafeDictWriter(csv.DictWriter):
    # writeheader() goes through writerow(); writerows() would not, hence its own.
    def writerow(self, rowdict):
        return super().writerow({key: _cell(value) for key, value in rowdict.items()})

    def writerows(self, rowdicts):
        for row in rowdicts:
            self.writerow(row)


def _cell(value):
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if value is None or isinstance(value, (int, float, decimal.Decimal)):
        return value
    return neutralise(str(value))
