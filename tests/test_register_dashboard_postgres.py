"""The dashboard's "notices to you" on PostgreSQL: notices are found by containment of the
address in their recipients, served by the GIN index of migration 0030 (added here with the
migration's own SQL: the test database's tables come from the models)."""

import importlib

import pytest
from django.db import connections

from wagtail_correspondence.models import Correspondence, SlaNotice, SlaNoticeKind
from wagtail_correspondence.views.register.dashboard import addressed_to

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "postgres"])

DB = "postgres"
MIGRATION = importlib.import_module("wagtail_correspondence.migrations.0030_register_search_document")


@pytest.fixture(autouse=True)
def indexes():
    with connections[DB].cursor() as cursor:
        cursor.execute(MIGRATION.ADD)
    yield
    SlaNotice.objects.using(DB).all().delete()
    Correspondence.objects.using(DB).all().delete()
    with connections[DB].cursor() as cursor:
        cursor.execute(MIGRATION.DROP)


def test_notices_are_found_by_their_exact_recipient():
    entry = Correspondence.objects.using(DB).create(reference="IN-1", subject="Claim")
    for level, recipients in enumerate([["Sue@Example.org"], ["sue@example.org", "bob@example.org"],
                                        ["not-sue@example.org"], ["team@example.org"], []]):
        SlaNotice.objects.using(DB).create(correspondence=entry, kind=SlaNoticeKind.ESCALATION, level=level + 1,
                                           recipients=recipients, due_at=entry.registered_at)
    found = SlaNotice.objects.using(DB).filter(addressed_to("Sue@Example.org", DB))
    assert sorted(notice.level for notice in found) == [1, 2]  # as typed, and in lower case; not a substring
    with connections[DB].cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            sql, params = found.query.get_compiler(DB).as_sql()
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan")
    assert "sla_notice_recipients" in plan, plan
