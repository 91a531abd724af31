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
import tempfile

from django.http import FileResponse
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from wagtail.admin.views.mixins import Echo, SpreadsheetExportMixin

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """The value, with a leading single quote if it is text a spreadsheet would evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def xml_safe(value):
    """Text without the control characters XML (and so XLSX) cannot hold: the workbook would
    not open over one of them."""
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

    # Rows are read from the database this many at a time, and not kept: an export of a
    # million register entries holds one chunk in memory, not a million model instances.
    export_chunk_size = 2000

    # Told how many rows are written so far, after each chunk and at the end, while the export
    # is written by ``write_spreadsheet`` (a background export); None in a response.
    export_progress = None

    def export_rows(self, queryset):
        rows = queryset.iterator(chunk_size=self.export_chunk_size) if hasattr(queryset, "iterator") else queryset
        # (some views, the audit log, hand over a list)
        return rows if self.export_progress is None else self._reported(rows, self.export_progress)

    def _reported(self, rows, progress):
        written = 0
        for item in rows:
            yield item
            written += 1  # the row is written once the writer asks for the next one
            if written % self.export_chunk_size == 0:
                progress(written)
        progress(written)

    def write_spreadsheet(self, queryset, spreadsheet_format, output, progress=None):
        """The export of ``queryset`` written to the binary file ``output`` instead of a response,
        with the same rows, columns and cells as ``as_spreadsheet`` gives (background exports).
        ``progress(rows)`` is called after every ``export_chunk_size`` rows and at the end."""
        self.export_progress = progress
        try:
            if spreadsheet_format == self.FORMAT_XLSX:
                self.write_xlsx(queryset, output)
            else:
                # The lines as the response streams them (Wagtail's Echo encodes them as UTF-8).
                for line in self.stream_csv(queryset):
                    output.write(line)
        finally:
            self.export_progress = None

    def stream_csv(self, queryset):
        # As Wagtail's, with every cell quoted, and the rows not cached by the queryset.
        writer = csv.DictWriter(Echo(), fieldnames=self.list_export, quoting=csv.QUOTE_ALL)
        yield writer.writerow({field: self.get_heading(queryset, field) for field in self.list_export})
        for item in self.export_rows(queryset):
            yield self.write_csv_row(writer, self.to_row_dict(item))

    def write_xlsx(self, queryset, output):
        """The workbook through XlsxWriter in constant-memory mode: each row is written to disk
        as it comes, with its text inline. (openpyxl, even write-only, keeps every distinct
        text of the sheet in memory, some 2 KB a register entry.) Text is always written as
        text, never as a formula, a number or a link."""
        import xlsxwriter
        from wagtail.admin.views.mixins import ExcelDateFormatter

        workbook = xlsxwriter.Workbook(output, {"constant_memory": True, "strings_to_formulas": False,
                                                "strings_to_numbers": False, "strings_to_urls": False})
        worksheet = workbook.add_worksheet("Sheet1")
        dates = workbook.add_format({"num_format": ExcelDateFormatter().get()})
        for column, field in enumerate(self.list_export):
            worksheet.write_string(0, column, str(self.get_heading(queryset, field)))
        for row, item in enumerate(self.export_rows(queryset), start=1):
            for column, (field, value) in enumerate(self.to_row_dict(item).items()):
                self._write_xlsx_cell(worksheet, row, column, self.preprocess_field_value(
                    field, value, self.FORMAT_XLSX), dates)
        workbook.close()

    @staticmethod
    def _write_xlsx_cell(worksheet, row, column, value, dates):
        if value is None or value == "":
            return
        if isinstance(value, bool):
            worksheet.write_boolean(row, column, value)
        elif isinstance(value, (int, float, decimal.Decimal)):
            worksheet.write_number(row, column, value)
        elif isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
            worksheet.write_datetime(row, column, value, dates)
        else:
            worksheet.write_string(row, column, str(value))

    def write_xlsx_response(self, queryset):
        # The workbook goes to a temporary file, not to memory, and is sent from there.
        output = tempfile.TemporaryFile()
        self.write_xlsx(queryset, output)
        output.seek(0)
        return FileResponse(output, as_attachment=True, filename=f"{self.get_filename()}.xlsx",
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


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
