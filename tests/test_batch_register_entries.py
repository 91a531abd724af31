"""A batch's letters get their outbound register entries together (one insert, one version
history revision, one insert of sealed log entries, one search-index update): the same entries,
history and audit trail as a letter registered on its own."""

import copy

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from reversion.models import Version
from wagtail.models import ModelLogEntry, ReferenceIndex

from wagtail_correspondence import log_actions
from wagtail_correspondence.models import Correspondence, Direction, Letter, Source, Status
from wagtail_correspondence.services import audit, batches, register_links
from wagtail_correspondence.services import letters as letter_service

from . import factories


@pytest.fixture
def template(customers, customer_dictionary, standard_layout):
    records = []
    for number in range(1, 4):
        record = copy.deepcopy(factories.SAMPLE_DATA)
        record["customer"].update(id=f"C-{number}", first_name=f"Name{number}", email=f"c{number}@example.org")
        records.append(record)
    customers(*records)
    fragment = factories.fragment(customer_dictionary, key="reminder",
                                  html="<p>Dear {{ customer.first_name }}, you owe {{ balance|money }}.</p>")
    return factories.letter_template(customer_dictionary, standard_layout, [fragment])


def run(agent, template, capture, rows):
    content = "customer_id,balance,channel\n" + "".join(f"C-{1 + n % 3},{n}.00,email\n" for n in range(rows))
    with capture(execute=True):  # the dry run, on commit
        batch = batches.create_batch(agent, template, SimpleUploadedFile("b.csv", content.encode()))
    batch.refresh_from_db()
    with capture(execute=True):  # the search and reference index updates, on commit
        batches.start_batch(agent, batch)
        batches.run_batch(batch.pk)
    return batch


def test_each_letter_of_a_batch_has_its_entry_history_and_sealed_log(
        agent, template, settings, django_capture_on_commit_callbacks):
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "BACKGROUND": {"CHUNK_ROWS": 4}}
    run(agent, template, django_capture_on_commit_callbacks, rows=7)
    letters = list(Letter.objects.order_by("reference"))
    assert len(letters) == 7
    entries = {entry.letter_id: entry for entry in Correspondence.objects.filter(letter__in=letters)}
    assert len(entries) == 7
    for letter in letters:
        entry = entries[letter.pk]
        assert (entry.reference, entry.direction, entry.source, entry.status) == (
            letter.reference, Direction.OUTBOUND, Source.LETTER, Status.CLOSED)
        assert entry.assignee == agent and entry.created_by == agent and entry.department_id == letter.department_id
        assert entry.subject == letter.subject and entry.recipients[0]["email"] == letter.data["customer"]["email"]
        assert entry.closed_at == letter.generated_at
        # Its history starts with its registration, in the revision of its chunk, by the agent
        # (delivery adds its own versions later).
        version = Version.objects.get_for_object(entry).order_by("pk").first()
        assert version.revision.user == agent and "generated" in version.revision.get_comment()
    revisions = {Version.objects.get_for_object(entry).order_by("pk").first().revision_id
                 for entry in entries.values()}
    assert len(revisions) == 2  # one per chunk of 4 rows
    # The audit trail: one "registered" entry per register entry, sealed in the chain.
    content_type = ContentType.objects.get_for_model(Correspondence)
    logged = ModelLogEntry.objects.filter(content_type=content_type, action=log_actions.REGISTER_CREATED)
    assert sorted(int(pk) for pk in logged.values_list("object_id", flat=True)) == sorted(
        entry.pk for entry in entries.values())
    assert audit.verify().entries >= logged.count()
    # Findable in the register's search, and their references indexed (after the commit).
    from wagtail.search.backends import get_search_backend

    found = get_search_backend().search("Name2", Correspondence.objects.all())  # in the body's text only
    assert sorted(entry.pk for entry in found) == sorted(
        entry.pk for entry in entries.values() if entry.customer_id == "C-2") != []
    assert ReferenceIndex.objects.filter(base_content_type=content_type,
                                         object_id=str(entries[letters[0].pk].pk)).exists()


def test_the_same_entry_as_a_letter_generated_on_its_own(agent, template, django_capture_on_commit_callbacks):
    run(agent, template, django_capture_on_commit_callbacks, rows=1)
    bulk = Correspondence.objects.get()
    request = letter_service.LetterRequest(template=template, customer_id="C-1", data={"balance": "0.00"},
                                           channel="email")
    with django_capture_on_commit_callbacks(execute=True):
        single = letter_service.generate_letter(agent, request)
    alone = Correspondence.objects.get(letter=single)
    fields = ["direction", "source", "kind", "channel", "status", "confidentiality", "assignee_id", "created_by_id",
              "department_id", "customer_id", "recipients", "subject"]
    assert [getattr(bulk, name) for name in fields] == [getattr(alone, name) for name in fields]


def test_a_reply_in_a_batch_still_answers_its_entry(agent, template, monkeypatch):
    """Letters answering an entry take the one-by-one path (it also moves the entry on)."""
    calls = []
    monkeypatch.setattr(register_links, "register_letter", lambda letter, user: calls.append(letter))
    letter = Letter(in_reply_to_id=1, reference="X")
    assert register_links.register_letters([letter], agent) == [] and calls == [letter]


def _references(model, objects):
    content_type = ContentType.objects.get_for_model(model)
    return sorted(ReferenceIndex.objects.filter(base_content_type=content_type,
                                                object_id__in=[str(obj.pk) for obj in objects]).values_list(
        "content_type_id", "object_id", "to_content_type_id", "to_object_id", "model_path", "content_path",
        "content_path_hash"))


def test_the_bulk_reference_index_records_what_wagtail_records_for_each_object(
        agent, template, settings, django_capture_on_commit_callbacks):
    from wagtail_correspondence.services.indexing import index_references

    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "BACKGROUND": {"CHUNK_ROWS": 4}}
    run(agent, template, django_capture_on_commit_callbacks, rows=5)
    for model in (Correspondence,):
        objects = list(model.objects.filter(letter__isnull=False))
        bulk = _references(model, objects)
        assert len(bulk) == 2 * len(objects)  # each entry's assignee and creator
        ReferenceIndex.objects.all().delete()
        for obj in objects:
            ReferenceIndex.create_or_update_for_object(obj)
        assert _references(model, objects) == bulk
        # Done again, it changes nothing; a reference that went away is removed, one that
        # came is added.
        assert index_references(model._meta.label, [obj.pk for obj in objects]) == len(objects)
        assert _references(model, objects) == bulk
    entry = Correspondence.objects.filter(letter__isnull=False).first()
    Correspondence.objects.filter(pk=entry.pk).update(assignee=None)
    index_references(Correspondence._meta.label, [entry.pk])
    assert {row[4] for row in _references(Correspondence, [entry])} == {"created_by"}
    Correspondence.objects.filter(pk=entry.pk).update(assignee=agent)
    index_references(Correspondence._meta.label, [entry.pk])
    assert {row[4] for row in _references(Correspondence, [entry])} == {"assignee", "created_by"}


def generate_undelivered(agent, template, settings, capture, rows):
    """A batch generated in one chunk, its dispatches queued and not delivered."""
    settings.WAGTAIL_CORRESPONDENCE = {**settings.WAGTAIL_CORRESPONDENCE, "BACKGROUND": {"CHUNK_ROWS": 10}}
    with capture(execute=False):  # the dry run's task is run below, the delivery tasks never
        content = "customer_id,balance,channel\n" + "".join(f"C-{1 + n % 3},{n}.00,email\n" for n in range(rows))
        batch = batches.create_batch(agent, template, SimpleUploadedFile("b.csv", content.encode()))
    with capture(execute=True):
        batches.check_batch(batch.pk)
    batch.refresh_from_db()
    with capture(execute=False):
        batches.start_batch(agent, batch)
        batches.run_batch(batch.pk)


def test_delivery_moves_the_entries_on_together_and_reopens_the_one_that_failed(
        agent, template, settings, django_capture_on_commit_callbacks, mailoutbox):
    from wagtail_correspondence.models import Dispatch, DispatchStatus

    generate_undelivered(agent, template, settings, django_capture_on_commit_callbacks, rows=4)
    letters = list(Letter.objects.order_by("reference"))
    failing = Dispatch.objects.get(letter=letters[1], channel="email")
    Dispatch.objects.filter(pk=failing.pk).update(recipient="")  # refused: no address
    from wagtail_correspondence.services import dispatch as dispatch_service

    with django_capture_on_commit_callbacks(execute=True):
        dispatch_service.deliver_many(list(Dispatch.objects.order_by("pk").values_list("pk", flat=True)))
    assert len(mailoutbox) == 3
    entries = {entry.letter_id: entry for entry in Correspondence.objects.filter(letter__in=letters)}
    for letter in letters:
        entry = entries[letter.pk]
        sent = Dispatch.objects.get(letter=letter, channel="email")
        if letter == letters[1]:
            assert sent.status == DispatchStatus.FAILED
            # Reopened for someone to act on, through the status machine.
            assert (entry.delivery_status, entry.status, entry.sent_at) == ("failed", Status.ASSIGNED, None)
            continue
        assert (entry.delivery_status, entry.status, entry.sent_at) == ("sent", Status.CLOSED, sent.sent_at)
        # Each dispatch records its own outcome (the group is written by one statement).
        archived = Dispatch.objects.get(letter=letter, channel="archive")
        assert sent.provider_message_id == f"<{sent.idempotency_key}@example.org>" != ""
        assert sent.recipient == letter.data["customer"]["email"]
        assert archived.status == DispatchStatus.SENT and archived.provider_message_id.endswith(
            f"{letter.reference}.pdf")
        latest = Version.objects.get_for_object(entry).order_by("-pk").first()
        assert latest.field_dict["delivery_status"] == "sent" and "Delivery status: sent" in (
            latest.revision.get_comment())


def test_an_outcome_is_not_recorded_over_a_dispatch_cancelled_while_it_was_sent(
        agent, template, settings, django_capture_on_commit_callbacks):
    from wagtail_correspondence.delivery.base import DeliveryResult
    from wagtail_correspondence.models import Dispatch, DispatchStatus
    from wagtail_correspondence.services import dispatch as dispatch_service

    generate_undelivered(agent, template, settings, django_capture_on_commit_callbacks, rows=3)
    claimed = dispatch_service.claim_many(list(Dispatch.objects.filter(channel="email").values_list("pk", flat=True)))
    assert len(claimed) == 3
    dispatch_service._with_letters(claimed)
    Dispatch.objects.filter(pk=claimed[1].pk).update(status=DispatchStatus.CANCELLED)  # meanwhile
    outcomes = [(dispatch, DeliveryResult(provider_message_id=f"<id-{dispatch.pk}>", recipient=f"r{dispatch.pk}@x.org"))
                for dispatch in claimed]
    dispatch_service._record_many(outcomes)
    after = {dispatch.pk: dispatch for dispatch in Dispatch.objects.filter(pk__in=[d.pk for d in claimed])}
    assert after[claimed[1].pk].status == DispatchStatus.CANCELLED and after[claimed[1].pk].provider_message_id == ""
    for dispatch in (claimed[0], claimed[2]):
        assert (after[dispatch.pk].status, after[dispatch.pk].provider_message_id, after[dispatch.pk].recipient) == (
            DispatchStatus.SENT, f"<id-{dispatch.pk}>", f"r{dispatch.pk}@x.org")
    logged = ModelLogEntry.objects.filter(action=log_actions.LETTER_DISPATCHED)
    assert sorted(int(pk) for pk in logged.values_list("object_id", flat=True)) == sorted(
        [claimed[0].letter_id, claimed[2].letter_id])
