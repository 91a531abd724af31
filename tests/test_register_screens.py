"""The register's screens as people read them: the version history in human values, the
action bar's primary step per status, the customer look-up of “Register incoming mail”, the
compact filters and the dashboard's volumes chart (in the user's scope, with drill-down)."""

import html
import io
import json
import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from wagtail.models import ModelLogEntry

from wagtail_correspondence import log_actions, roles
from wagtail_correspondence.models import Correspondence, Department, Status
from wagtail_correspondence.services import register as service
from wagtail_correspondence.services import register_history
from wagtail_correspondence.views.register.dashboard import DepartmentVolumesPanel, volume_range

ENTRIES = "/admin/correspondence/register/entries/"
LOOKUP = "/admin/correspondence/register/customers/"


@pytest.fixture
def departments(db):
    service_desk = Department.add_root(instance=Department(name="Customer Service", code="customer-service"))
    complaints = service_desk.add_child(instance=Department(name="Complaints", code="complaints"))
    billing = service_desk.add_child(instance=Department(name="Billing", code="billing"))
    return {"customer-service": Department.objects.get(pk=service_desk.pk), "complaints": complaints,
            "billing": billing}


@pytest.fixture
def officer(make_user, departments):
    user = make_user("officer", roles.OFFICERS, first_name="Olga", last_name="Officer")
    departments["complaints"].members.add(user)
    return user


@pytest.fixture
def supervisor(make_user, departments):
    user = make_user("supervisor", roles.SUPERVISORS)
    departments["customer-service"].members.add(user)
    return user


def register(user, department, **fields):
    values = {"subject": "A question", "kind": "letter", "channel": "post", "department": department}
    values.update(fields)
    return service.register_entry(user, **values)


# The version history -------------------------------------------------------------------

def test_history_shows_dates_in_the_readers_time_zone_and_the_forms_labels(officer, departments):
    received = datetime(2026, 12, 18, 16, 0, 0, 123456, tzinfo=dt_timezone.utc)
    entry = register(officer, departments["complaints"], received_at=received, customer_id="C-1001")
    later = datetime(2026, 12, 19, 8, 30, tzinfo=dt_timezone.utc)
    service.update_entry(officer, entry, {"received_at": later, "customer_id": "C-1002"})
    with timezone.override("Europe/Brussels"):
        items = register_history.history(entry, officer)
        changes = {change.name: change for change in items[0].changes}
        expected_old = date_format(timezone.localtime(received), "SHORT_DATETIME_FORMAT")
        expected_new = date_format(timezone.localtime(later), "SHORT_DATETIME_FORMAT")
    assert changes["customer_id"].label == "Customer number"
    assert (changes["customer_id"].old, changes["customer_id"].new) == ("C-1001", "C-1002")
    assert changes["received_at"].label == "Received"
    assert (changes["received_at"].old, changes["received_at"].new) == (expected_old, expected_new)
    assert expected_old != date_format(received, "SHORT_DATETIME_FORMAT")  # 17:00 in Brussels, not 16:00 UTC
    for change in changes.values():
        assert not re.search(r"\+\d\d:\d\d|\.\d{6}|\d{4}-\d\d-\d\d \d\d:", f"{change.old} {change.new}")


def test_history_on_the_entry_page_names_people_and_choices(client, officer, supervisor, departments):
    entry = register(supervisor, departments["complaints"])
    service.assign(supervisor, entry, assignee=officer, reason="")
    client.force_login(officer)
    page = client.get(f"{ENTRIES}inspect/{entry.pk}/").content.decode()
    history = page[page.index("data-versions-history"):]
    assert "Olga Officer" in history and "Assigned" in history
    assert f">{officer.pk}<" not in history


# The action bar ------------------------------------------------------------------------

def walk_to(user, entry, status):
    steps = {Status.IN_PROGRESS: ["start"], Status.AWAITING_CUSTOMER: ["start", "await_customer"],
             Status.RESPONDED: ["start", "respond"], Status.CLOSED: ["start", "respond", "close"]}
    for action in steps.get(status, []):
        entry = service.transition(user, entry, action)
    return entry


@pytest.mark.parametrize("status, primary, others", [
    (Status.ASSIGNED, "start", ["close"]),
    (Status.IN_PROGRESS, "respond", ["await_customer", "close"]),
    (Status.AWAITING_CUSTOMER, "resume", ["respond", "close"]),
    (Status.RESPONDED, "close", ["start"]),
    (Status.CLOSED, "reopen", []),
])
def test_the_primary_action_follows_the_status_machine(client, officer, departments, status, primary, others):
    entry = register(officer, departments["complaints"], assignee=officer)
    entry = walk_to(officer, entry, status)
    assert entry.status == status
    client.force_login(officer)
    page = client.get(f"{ENTRIES}inspect/{entry.pk}/").content.decode()
    bar = page[page.index("data-transition-form"):page.index("</form>", page.index("data-transition-form"))]
    buttons = re.findall(r'<button[^>]*data-transition="(\w+)"[^>]*>', bar)
    assert buttons == [primary] + others
    assert re.findall(r'data-transition="(\w+)" data-primary', bar) == [primary]
    # The comment is a labelled field, not a bare text box.
    assert re.search(r'<label[^>]*for="id_transition_reason"', bar) and 'id="id_transition_reason"' in bar
    if status == Status.RESPONDED:
        assert re.search(r'data-transition="start"[^>]*>Follow up<', bar)


def test_a_missing_comment_is_named_as_the_action_bar_names_it(client, officer, departments):
    entry = register(officer, departments["complaints"], assignee=officer)
    client.force_login(officer)
    page = client.post(f"/admin/correspondence/register/{entry.pk}/transition/", {"action": "close"}, follow=True)
    assert "Comment: Say why the entry is closed without a response." in page.content.decode()
    assert Correspondence.objects.get(pk=entry.pk).status == Status.ASSIGNED


def test_a_registered_entry_is_taken_from_the_action_bar(client, officer, departments):
    entry = register(officer, departments["complaints"])
    assert entry.status == Status.REGISTERED
    assert service.next_action(entry, service.available_actions(officer, entry)) is None
    client.force_login(officer)
    page = client.get(f"{ENTRIES}inspect/{entry.pk}/").content.decode()
    bar = page[page.index("data-transition-form"):page.index("</form>", page.index("data-transition-form"))]
    take = re.search(r'<button[^>]*formaction="([^"]+)"[^>]*data-action="take" data-primary>', bar)
    assert take and re.search(r'class="button button-secondary" data-transition="close"', bar)
    client.post(take.group(1), {"reason": ""})
    entry.refresh_from_db()
    assert (entry.assignee, entry.status) == (officer, Status.ASSIGNED)


def test_the_notes_box_has_a_label(client, officer, departments):
    entry = register(officer, departments["complaints"], assignee=officer)
    client.force_login(officer)
    page = client.get(f"{ENTRIES}inspect/{entry.pk}/").content.decode()
    assert re.search(r'<label[^>]*for="id_note_text"', page) and 'id="id_note_text"' in page
    assert page.count('id="id_transition_reason"') == 1 and 'id="id_reason"' not in page


# The customer look-up ------------------------------------------------------------------

def test_registrars_find_a_customer_and_take_the_sender_from_the_logged_record(client, officer, one_customer):
    client.force_login(officer)
    found = client.get(LOOKUP, {"q": "peeters"}).json()["results"]
    assert [item["id"] for item in found] == ["C-1001"]
    assert set(found[0]) == {"id", "full_name", "email", "phone"}  # a summary, no address
    assert not ModelLogEntry.objects.filter(action=log_actions.CUSTOMER_RECORD_VIEWED).exists()

    party = client.get(f"{LOOKUP}C-1001/").json()["party"]
    assert party == {"customer_id": "C-1001", "sender_name": "Ada Peeters", "sender_organisation": "",
                     "sender_email": "ada@example.org", "sender_phone": "+32 2 555 01 23",
                     "sender_address": "Rue de la Loi 16\n1000 BRUSSELS"}
    read = ModelLogEntry.objects.get(action=log_actions.CUSTOMER_RECORD_VIEWED)
    assert (read.user, read.data["customer_id"], read.data["via"]) == (officer, "C-1001", "admin")
    assert client.get(f"{LOOKUP}C-9999/").status_code == 404
    assert client.get(LOOKUP, {"q": "nobody"}).json()["results"] == []


def test_the_customer_look_up_is_for_registrars_only(client, make_user, one_customer):
    for url in (LOOKUP + "?q=ada", f"{LOOKUP}C-1001/"):
        anonymous = client.get(url)
        assert anonymous.status_code in (302, 403) and "Ada" not in anonymous.content.decode()
    client.force_login(make_user("agent", roles.AGENTS))  # works entries, does not register mail
    for url in (LOOKUP + "?q=ada", f"{LOOKUP}C-1001/"):
        response = client.get(url)
        assert response.status_code in (302, 403) and "Ada" not in response.content.decode()
    assert not ModelLogEntry.objects.filter(action=log_actions.CUSTOMER_RECORD_VIEWED).exists()


def test_the_registration_form_offers_the_look_up_and_a_date_picker(client, officer, one_customer):
    client.force_login(officer)
    page = client.get(f"{ENTRIES}create/").content.decode()
    assert 'data-customer-lookup' in page and 'data-search-url="/admin/correspondence/register/customers/"' in page
    assert re.search(r'<label[^>]*for="cc-customer-search"', page)
    assert 'initDateTimeChooser("id_received_at"' in page
    assert "js/register-form.js" in page  # also labels the tags widget's own input (browser test)


# Filters --------------------------------------------------------------------------------

def test_filters_are_selects_and_a_department_can_be_taken_alone(client, supervisor, departments):
    parent = register(supervisor, departments["customer-service"], subject="Parent desk entry")
    child = register(supervisor, departments["billing"], subject="Billing team entry")
    client.force_login(supervisor)
    page = client.get(ENTRIES).content.decode()
    sidebar = page[page.index("changelist-filter"):]
    assert sidebar.count("<select") >= 8 and "<li" not in sidebar.split("</select>")[0]
    assert 'name="registered_at_from"' in page and 'name="received_at_from"' in page

    tree = client.get(ENTRIES, {"department": "customer-service"}).content.decode()
    assert parent.reference in tree and child.reference in tree
    alone = client.get(ENTRIES, {"department": "customer-service", "department_only": "1"}).content.decode()
    assert parent.reference in alone and child.reference not in alone
    assert "Customer Service only" in alone


# The dashboard --------------------------------------------------------------------------

def look_at_dashboard(client):
    """/admin/ as a browser gets it: the page, then, when it has no volumes kept for the user's
    scope, their own request (what js/register-dashboard.js asks). Returns the HTML holding the
    volumes, whether the page counted them and whether that second request did."""
    def fetched(url):
        with CaptureQueriesContext(connection) as captured:
            content = client.get(url).content.decode()
        return content, any("GROUP BY" in query["sql"] and "registered_at" in query["sql"]
                            for query in captured.captured_queries)

    page, page_counted = fetched("/admin/")
    load = re.search(r'data-volumes-load="([^"]+)"', page)
    if load is None:
        return page, page_counted, False
    volumes, counted = fetched(html.unescape(load.group(1)))
    return volumes, page_counted, counted


def test_the_volumes_request_takes_bad_dates_and_gets_nothing_else(client, officer, supervisor, departments):
    register(supervisor, departments["billing"], subject="Billing matter")
    url = reverse("wagtail_correspondence_register:dashboard_volumes")
    client.force_login(supervisor)
    odd = client.get(url, {"volumes_from": "next tuesday", "volumes_to": "2026-99-99"})
    assert odd.status_code == 200 and chart_of(odd.content.decode()) is not None  # the last weeks instead
    assert client.post(url).status_code == 405
    client.logout()
    assert client.get(url).status_code == 302  # to the login page
    assert "data-department=" not in client.get(url, follow=True).content.decode()


def chart_of(page):
    match = re.search(r'<script id="cc-volumes-data" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(match.group(1)) if match else None


def test_dashboard_counts_stay_in_the_users_scope(client, officer, supervisor, departments):
    for _ in range(3):
        register(supervisor, departments["billing"], subject="Billing matter")
    for _ in range(2):
        register(supervisor, departments["complaints"], subject="Complaint matter")

    client.force_login(officer)
    # Nothing kept for the officer's scope yet: the page does not wait for the counting, the
    # panel's script asks for it.
    page = client.get("/admin/").content.decode()
    assert "data-volumes-load" in page and chart_of(page) is None and "Counting the entries" in page
    assert "chart.umd.min.js" in page and "register-dashboard.js" in page
    assert "Search all pages" not in page  # for correspondence staff
    volumes, page_counted, counted = look_at_dashboard(client)
    assert not page_counted and counted
    chart = chart_of(volumes)
    assert [dataset["code"] for dataset in chart["datasets"]] == ["complaints"]
    assert sum(chart["datasets"][0]["data"]) == 2 and "Billing" not in volumes
    assert chart["x_title"] and chart["y_title"]
    # Counted now and kept: the next look has them in the page.
    page = client.get("/admin/").content.decode()
    assert "data-volumes-load" not in page and chart_of(page) == chart
    # Without JavaScript, the panel's link counts in the page.
    client.force_login(supervisor)
    assert sorted(dataset["code"] for dataset in chart_of(client.get(
        "/admin/", {"volumes_count": "1"}).content.decode())["datasets"]) == ["billing", "complaints"]

    officer_rows = {row["department"].code: row["total"]
                    for row in DepartmentVolumesPanel(officer, count_now=True).get_context_data()["rows"]}
    supervisor_rows = {row["department"].code: row["total"]
                       for row in DepartmentVolumesPanel(supervisor, count_now=True).get_context_data()["rows"]}
    assert officer_rows == {"complaints": 2}
    assert supervisor_rows == {"billing": 3, "complaints": 2}


def test_dashboard_counts_are_kept_per_scope_for_a_while(client, officer, supervisor, departments, make_user,
                                                         settings):
    """The weekly volumes and the overdue count are counted at most every
    DASHBOARD_CACHE_SECONDS per scope, and the panel says when: people who see everything
    share the counts; an officer never sees counts made for a wider scope."""
    from wagtail_correspondence.services.register_access import scope_key

    register(supervisor, departments["billing"], subject="Billing matter")
    register(supervisor, departments["complaints"], subject="Complaint matter")

    def totals(user):
        context = DepartmentVolumesPanel(user, count_now=True).get_context_data()
        return {row["department"].code: row["total"] for row in context["rows"]}, context["counted_at"]

    everything, counted_at = totals(supervisor)
    assert everything == {"billing": 1, "complaints": 1}
    register(supervisor, departments["billing"], subject="Billing matter")
    assert totals(supervisor) == (everything, counted_at)  # kept: counted a moment ago
    assert totals(make_user("sue2", roles.SUPERVISORS))[0] == everything  # the same scope shares them
    assert totals(officer)[0] == {"complaints": 1}  # the officer's own scope, counted for them

    client.force_login(supervisor)
    page = client.get("/admin/").content.decode()
    assert "data-counted-at" in page and "Counted" in page  # kept: in the page

    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "REGISTER": {
        **settings.WAGTAIL_CORRESPONDENCE.get("REGISTER", {}), "DASHBOARD_CACHE_SECONDS": 0}}
    assert totals(supervisor)[0] == {"billing": 2, "complaints": 1}  # counted on every visit

    # The key follows what decides the scope: departments and clearances.
    key = scope_key(officer)
    departments["billing"].members.add(officer)
    del officer._correspondence_departments
    assert scope_key(officer) != key and scope_key(supervisor) == "all"


def test_the_scheduler_counts_again_the_scopes_people_look_at(client, officer, supervisor, departments):
    """The "dashboard-volumes" job counts again, before they get old, the volumes of the scopes
    looked at in the last hour; a visit then reads them ready, without counting."""
    from django.core.management import call_command

    from wagtail_correspondence.models import DashboardVolumes
    from wagtail_correspondence.services import register_volumes

    register(supervisor, departments["billing"], subject="Billing matter")

    def visit(user):
        client.force_login(user)
        volumes, page_counted, counted = look_at_dashboard(client)
        assert not page_counted  # the page itself never waits for a count
        totals = dict(re.findall(r'data-department="([a-z-]+)">.*?<td>(\d+)</td>', volumes, re.S))
        return totals, counted

    assert visit(supervisor) == ({"billing": "1"}, True)  # the first look counts
    assert visit(supervisor) == ({"billing": "1"}, False)  # then the counts are read
    assert visit(officer) == ({}, True)  # the officer's own scope: billing is not theirs
    register(supervisor, departments["billing"], subject="Another billing matter")
    register(supervisor, departments["complaints"], subject="A complaint")

    # Two and a half minutes later: the counts are half their age limit (300 s) old.
    now = timezone.now()
    DashboardVolumes.objects.update(counted_at=now - timedelta(seconds=160))
    officer_row = DashboardVolumes.objects.get(user=officer)
    out = io.StringIO()
    call_command("correspondence_scheduler", "--once", "--job", "dashboard-volumes", stdout=out)
    assert "dashboard-volumes: succeeded: 2 counted again" in out.getvalue()
    assert visit(supervisor) == ({"billing": "2", "complaints": "1"}, False)  # ready, and up to date
    assert visit(officer) == ({"complaints": "1"}, False)

    # Fresh counts are left alone; a scope nobody looked at for an hour is not counted again,
    # and after a day it is forgotten.
    assert register_volumes.refresh_watched() == "0 counted again, 0 forgotten"
    DashboardVolumes.objects.update(counted_at=now - timedelta(seconds=400), viewed_at=now - timedelta(hours=2))
    assert register_volumes.refresh_watched() == "0 counted again, 0 forgotten"
    DashboardVolumes.objects.filter(pk=officer_row.pk).update(viewed_at=now - timedelta(days=2))
    assert register_volumes.refresh_watched() == "0 counted again, 1 forgotten"
    assert visit(supervisor) == ({"billing": "2", "complaints": "1"}, True)  # too old: counted on the visit

    # Someone whose scope changed: their old row is nobody's any more, and is dropped.
    visit(officer)
    DashboardVolumes.objects.update(counted_at=now - timedelta(seconds=160))
    departments["billing"].members.add(officer)
    assert register_volumes.refresh_watched() == "1 counted again, 1 forgotten"
    assert visit(officer) == ({"billing": "2", "complaints": "1"}, True)  # the new scope, counted for them


def test_each_bar_opens_the_list_of_exactly_its_entries(client, supervisor, departments):
    ours = [register(supervisor, departments["billing"], subject=f"Week entry {n}") for n in range(2)]
    old = register(supervisor, departments["billing"], subject="An older entry")
    Correspondence.objects.filter(pk=old.pk).update(registered_at=timezone.now() - timedelta(weeks=3))
    client.force_login(supervisor)
    chart = chart_of(look_at_dashboard(client)[0])
    billing = next(dataset for dataset in chart["datasets"] if dataset["code"] == "billing")
    assert billing["data"][-1] == 2 and sum(billing["data"]) == 3
    listed = client.get(billing["links"][-1]).content.decode()
    assert all(entry.reference in listed for entry in ours) and old.reference not in listed


def test_on_time_share_counts_answers_by_their_deadline_per_week(supervisor, departments):
    """Counted by the database (not read row by row): per department, the answered entries
    (responded, or closed) and those answered by their deadline, in the weeks shown."""
    now = timezone.now()
    entries = [register(supervisor, departments["billing"], subject=f"Entry {n}") for n in range(5)]
    on_time, late, closed_on_time, open_, no_deadline = entries
    Correspondence.objects.filter(pk=on_time.pk).update(due_at=now + timedelta(days=1), responded_at=now)
    Correspondence.objects.filter(pk=late.pk).update(due_at=now - timedelta(days=1), responded_at=now)
    Correspondence.objects.filter(pk=closed_on_time.pk).update(due_at=now + timedelta(hours=1), closed_at=now)
    Correspondence.objects.filter(pk=open_.pk).update(due_at=now + timedelta(days=1))
    Correspondence.objects.filter(pk=no_deadline.pk).update(due_at=None, responded_at=now)
    older = register(supervisor, departments["billing"], subject="Nine weeks ago")
    Correspondence.objects.filter(pk=older.pk).update(registered_at=now - timedelta(weeks=9), responded_at=now,
                                                      due_at=now - timedelta(weeks=8))
    rows = {row["department"].code: row for row in DepartmentVolumesPanel(
        supervisor, count_now=True).get_context_data()["rows"]}
    assert rows["billing"]["total"] == 5 and rows["billing"]["answered"] == 3
    assert rows["billing"]["compliance"] == 67  # 2 of 3 by their deadline


def test_the_date_range_is_whole_weeks_and_bounded():
    today = datetime(2026, 12, 5).date()  # a Saturday
    first, last, error = volume_range({}, today)
    assert (first.isoformat(), last.isoformat(), error) == ("2026-10-12", "2026-11-30", "")
    first, last, error = volume_range({"volumes_from": "2026-11-04", "volumes_to": "2026-11-20"}, today)
    assert (first.isoformat(), last.isoformat()) == ("2026-11-02", "2026-11-16")
    assert volume_range({"volumes_from": "4 November"}, today)[2]
    first, last, error = volume_range({"volumes_from": "2020-01-01", "volumes_to": "2026-11-20"}, today)
    assert (last - first).days // 7 + 1 == 53 and error


@pytest.mark.parametrize("query, heading", [
    ("?assignee=me&status__in=registered,assigned,in_progress,awaiting_customer", "My work"),
    ("?deadline=overdue", "Overdue"), ("?direction__exact=inbound", "Inbound register"), ("", "Register"),
])
def test_each_register_list_is_headed_by_the_menu_entry_that_opens_it(client, officer, query, heading):
    client.force_login(officer)
    response = client.get(reverse("correspondence_register_entries_modeladmin_index") + query)
    assert response.status_code == 200
    title = re.search(r"<h1[^>]*>(.*?)</h1>", response.content.decode(), re.S).group(1)
    assert re.sub(r"<[^>]+>|\s+", " ", title).strip() == heading
