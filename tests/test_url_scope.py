"""Every URL that names an object, for every role, generated from the URL resolver.

Wagtail and wagtail-modeladmin generate views beside the ones the project writes, and a
Wagtail upgrade can add more. This test does not trust a list of views: it walks the URL
resolver. For every pattern of the admin, the API, the portal and Wagtail's own URLs whose
route names an object (an id, a reference, a key, a token), each role (and an anonymous
caller) requests an object inside its scope, one outside it and a strictly confidential one,
where the kind of object has them. Every object of the world carries a marker; no response
may hold the marker of an object the role may not see, nor serve a file of one, nor fail
with a 500. A pattern that no case below describes fails ``test_every_pattern_has_a_case``
until someone states who may reach it.

Which role may see which object is written out by hand (tests/world.py and the tables
below), as docs/security.md states it; the role matrix (test_role_matrix.py) checks what
each role may *do*.
"""

import re
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from wagtail.documents import get_document_model
from wagtail.images import get_image_model
from wagtail.images.tests.utils import get_test_image_file
from wagtail.models import Collection, Page, Site, Task, Workflow

from wagtail_correspondence.models import (
    BusinessCalendar,
    Category,
    ContentCategory,
    Correspondence,
    Department,
    Dispatch,
    Letter,
    LetterApprovalRule,
    LetterBatch,
    PortalResponse,
    PrintRun,
    RegisterExport,
    RetentionPolicy,
    RoutingRule,
    SlaPolicy,
)
from wagtail_correspondence.delivery.portal_tokens import make_token
from wagtail_correspondence.services import register as register_service

from . import factories
from .world import BATCHES, READS_LETTERS, ROLES, SEES

ANONYMOUS = "anonymous"
EVERYONE = (ANONYMOUS, *ROLES)
STAFF = frozenset(ROLES)
ADMINS = frozenset({"admin", "superuser"})


def marker(kind, variant):
    """Letters only, so that no escaping or encoding changes it and no marker contains another."""
    return f"Zq{kind.replace('_', '')}{variant}qZ"


# Who sees what ---------------------------------------------------------------------------
#
# Objects with a scope come in three variants: "in" (inside the scope of the agent and the
# officer of Complaints), "out" (another department) and "secret" (strictly confidential, in
# their department, neither assigned to them nor registered by them). Other kinds have one
# object, "in", seen by the roles their permissions name.

def scoped(names, table):
    """``{role: variants it sees}`` from the world's table of who sees which named object."""
    return {role: frozenset(variant for variant, name in names.items() if name in table.get(role, ()))
            for role in EVERYONE}


def roles_see(roles):
    return {role: frozenset({"in"}) if role in roles else frozenset() for role in EVERYONE}


ENTRY_NAMES = {"in": "complaints", "out": "billing", "secret": "secret"}
LETTER_NAMES = {"in": "dept", "out": "other", "secret": "secret"}
BATCH_NAMES = {"in": "agent_batch", "out": "lawyer_batch"}

BUILDERS = frozenset({"agent", "officer", "admin", "superuser"})
REGISTRARS = frozenset({"officer", "supervisor", "admin", "superuser"})
REGISTER_SETTINGS_READERS = frozenset({"officer", "supervisor", "auditor", "admin", "superuser"})

SEEN = {
    "entry": scoped(ENTRY_NAMES, SEES),
    "letter": scoped(LETTER_NAMES, READS_LETTERS),
    "portal_response": scoped(LETTER_NAMES, READS_LETTERS),
    "batch": scoped(BATCH_NAMES, BATCHES),
    # A print run's files hold every department's letters.
    "print_run": roles_see({"supervisor", "auditor", "admin", "superuser"}),
    # A background export of the register is its requester's alone (here the supervisor's).
    "register_export": roles_see({"supervisor"}),
    # Customer records are personal data: for those who write letters, and for those who register
    # incoming mail (the registration form's look-up fills the sender from the record).
    "customer": roles_see(BUILDERS | REGISTRARS),
    # The wording library (templates, fragments, layouts, dictionaries, categories) is internal,
    # not confidential: any member of staff may read its titles (letter pages name the
    # fragments they pinned). What each role may do with it is the role matrix's business.
    "template": roles_see(STAFF),
    "fragment": roles_see(STAFF),
    "layout": roles_see(STAFF),
    "enclosure": roles_see(STAFF),
    "dictionary": roles_see(STAFF),
    "content_category": roles_see(STAFF),
    "department": roles_see(STAFF),
    # Agents pick an entry's category in its form; they do not browse the categories.
    "category": roles_see(REGISTER_SETTINGS_READERS | {"agent"}),
    "routing_rule": roles_see(REGISTER_SETTINGS_READERS),
    "sla_policy": roles_see(REGISTER_SETTINGS_READERS),
    "calendar": roles_see(REGISTER_SETTINGS_READERS),
    "retention_policy": roles_see({"supervisor", "auditor", "admin", "superuser"}),
    # Which letters need a second person: managed by supervisors and administrators, read by auditors.
    "approval_rule": roles_see({"supervisor", "auditor", "admin", "superuser"}),
    # People's names and addresses: for those who manage users.
    "user": roles_see(ADMINS),
    # The organisation's own set-up, not confidential within it.
    "group": roles_see(STAFF),
    "workflow": roles_see(STAFF),
    "task": roles_see(STAFF),
    "site": roles_see(STAFF),
    "collection": roles_see(STAFF),
    "image": roles_see(STAFF),
    "document": roles_see(STAFF),
    "page": roles_see(STAFF),
    # Translations of the wording library (wagtail-localize) and the content languages: as
    # internal as the library itself.
    "translation": roles_see(STAFF),
    "locale": roles_see(STAFF),
    # A portal link is a bearer token: whoever holds a valid one reads that letter; a
    # tampered link or one for another channel shows nothing to anybody.
    "portal": {role: frozenset({"in"}) for role in EVERYONE},
}


# The world, marked -------------------------------------------------------------------------

def mark(model, instance, **fields):
    """Write markers with update(): generated letters refuse save(), and the services would
    log and version the change (nothing under test here)."""
    model.objects.filter(pk=instance.pk).update(**fields)
    instance.refresh_from_db()
    return instance


@pytest.fixture
def marked(world, entries, letters, batches, library, customers, django_user_model):
    """The access-control world, every object of each kind under test carrying its marker."""
    users = world.users
    objects = {}
    for variant, name in ENTRY_NAMES.items():
        entry = mark(Correspondence, entries[name], subject=f"{entries[name].subject} {marker('entry', variant)}",
                     sender_name=marker("entry", variant))
        register_service.add_attachment(users["registrar"], entry, factories_upload(marker("entry", variant)),
                                        title=marker("entry", variant))
        register_service.add_note(users["registrar"], entry, marker("entry", variant))
        objects[("entry", variant)] = entry
    for variant, name in LETTER_NAMES.items():
        letter = mark(Letter, letters[name], recipient_name=marker("letter", variant),
                      subject=marker("letter", variant))
        objects[("letter", variant)] = letter
        reply = PortalResponse(letter=letter, kind=PortalResponse.REPLY, text=marker("portalresponse", variant),
                               attachment_name="reply.txt", attachment_type="text/plain")
        content = marker("portal_response", variant).encode()
        import hashlib

        reply.attachment_sha256 = hashlib.sha256(content).hexdigest()
        reply.attachment.save("reply.txt", ContentFile(content), save=False)
        reply.save()
        objects[("portal_response", variant)] = reply
    objects.update(portal_links(objects))
    for variant, name in BATCH_NAMES.items():
        objects[("batch", variant)] = mark(LetterBatch, batches[name], name=marker("batch", variant))
    objects[("print_run", "in")] = print_run(marker("print_run", "in"))
    objects[("register_export", "in")] = register_export(users["supervisor"], marker("register_export", "in"))

    customers(factories.SAMPLE_DATA, {**factories.SAMPLE_DATA, "customer": {
        **factories.SAMPLE_DATA["customer"], "id": "C-ZQ", "full_name": marker("customer", "in"),
        "last_name": marker("customer", "in")}})
    objects[("customer", "in")] = SimpleNamespace(pk="C-ZQ", customer_id="C-ZQ")

    template = library.template
    template.title = marker("template", "in")
    template.save_revision().publish()
    objects[("template", "in")] = template.specific_class.objects.get(pk=template.pk)
    objects[("fragment", "in")] = rename(library.fragment, "title", marker("fragment", "in"))
    objects[("layout", "in")] = rename(library.layout, "name", marker("layout", "in"))
    objects[("translation", "in")], objects[("locale", "in")] = translation_of(objects[("fragment", "in")])
    objects[("enclosure", "in")] = factories.enclosure("zq-enclosure", marker("enclosure", "in"), "zq")
    objects[("dictionary", "in")] = rename(library.dictionary, "name", marker("dictionary", "in"))
    objects[("content_category", "in")] = ContentCategory.objects.create(name=marker("content_category", "in"))

    objects[("department", "in")] = Department.add_root(instance=Department(
        name=marker("department", "in"), code="zq-department"))
    objects[("category", "in")] = Category.add_root(name=marker("category", "in"), code="zq-category")
    objects[("routing_rule", "in")] = RoutingRule.objects.create(
        name=marker("routing_rule", "in"), keywords="zq", department=world.departments["billing"])
    objects[("sla_policy", "in")] = SlaPolicy.objects.create(name=marker("sla_policy", "in"), response_time=3)
    objects[("calendar", "in")] = BusinessCalendar.objects.create(name=marker("calendar", "in"))
    objects[("retention_policy", "in")] = RetentionPolicy.objects.create(
        name=marker("retention_policy", "in"), retain_years=7)
    objects[("approval_rule", "in")] = LetterApprovalRule.objects.create(
        name=marker("approval_rule", "in"), channel="fax", is_active=False)

    objects[("user", "in")] = django_user_model.objects.create_user(
        "zq-user", "zq@example.org", "x", first_name=marker("user", "in"), last_name=marker("user", "in"))
    objects[("group", "in")] = Group.objects.create(name=marker("group", "in"))
    objects[("workflow", "in")] = Workflow.objects.create(name=marker("workflow", "in"))
    objects[("task", "in")] = Task.objects.create(name=marker("task", "in"))
    objects[("site", "in")] = Site.objects.create(hostname="zq.example.org", site_name=marker("site", "in"),
                                                  root_page=Page.objects.get(depth=1).get_children().first())
    objects[("collection", "in")] = Collection.get_first_root_node().add_child(name=marker("collection", "in"))
    objects[("image", "in")] = get_image_model().objects.create(title=marker("image", "in"),
                                                                file=get_test_image_file())
    objects[("document", "in")] = get_document_model().objects.create(
        title=marker("document", "in"), file=ContentFile(b"document", name="zq.txt"))
    home = Page.objects.get(depth=1).get_children().first()
    objects[("page", "in")] = home.add_child(instance=Page(title=marker("page", "in"), slug="zq-page"))
    return SimpleNamespace(objects=objects, users=users, world=world)


def translation_of(fragment):
    """A translation of the fragment into French as wagtail-localize's "Translate" begins one:
    its strings extracted and the French variant saved as a draft, in the source's words."""
    from wagtail.models import Locale
    from wagtail_localize.models import Translation, TranslationSource

    french = Locale.objects.get_or_create(language_code="fr")[0]
    source, _created = TranslationSource.get_or_create_from_instance(fragment)
    translation = Translation.objects.create(source=source, target_locale=french)
    translation.save_target(publish=False)
    return translation, french


def portal_links(objects):
    """Portal links: a valid one for the in-scope letter, a tampered one for the other
    department's letter, and a valid link of the confidential letter's print dispatch (the
    portal serves portal dispatches only)."""
    links = {}
    for variant, channel in (("in", "portal"), ("out", "portal"), ("secret", "print")):
        letter = objects[("letter", variant)]
        dispatch = Dispatch.objects.create(letter=letter, channel=channel, recipient=channel,
                                           idempotency_key=f"zq-{channel}-{letter.pk}")
        token = make_token(dispatch)
        if variant == "out":
            token = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
        links[("portal", variant)] = SimpleNamespace(pk=letter.pk, token=token, letter=letter)
    return links


def factories_upload(text):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("scan.txt", f"Scanned letter {text}\n".encode(), content_type="text/plain")


def print_run(text):
    from django.core.files.storage import storages

    from wagtail_correspondence.delivery.base import get_channel

    storage = storages[get_channel("print").storage_alias]
    pdf = storage.save("zq/run.pdf", ContentFile(f"%PDF-1.4 {text}".encode()))
    manifest = storage.save("zq/manifest.csv", ContentFile(f"reference\n{text}\n".encode()))
    return PrintRun.objects.create(pdf_path=pdf, manifest_path=manifest, pdf_sha256="0" * 64, letter_count=1,
                                   page_count=1, sheet_count=1)


def register_export(user, text):
    """A written background export of ``user``, its list and its file marked."""
    from wagtail_correspondence.models.attachments import register_storage

    content = f'"Reference Number","Subject"\n"IN-1","{text}"\n'.encode()
    part = register_storage().save("correspondence/register/exports/zq/1/part-00001", ContentFile(content))
    return RegisterExport.objects.create(requested_by=user, format="csv", list_title=text, status="done",
                                         parts=[part], size=len(content), file_name="register-zq.csv",
                                         rows_written=1, total_rows=1)


def rename(instance, attribute, value):
    """A snippet renamed in a new revision, published when it has drafts."""
    setattr(instance, attribute, value)
    revision = instance.save_revision()
    if hasattr(instance, "publish"):
        revision.publish()
    else:
        instance.save()
    return type(instance).objects.get(pk=instance.pk)


# How a pattern's arguments name each kind of object ---------------------------------------

def arguments(kind, obj, world):
    """The values a URL argument takes to name ``obj``; any argument name a pattern may use."""
    common = {"object_id": obj.pk, "pk": obj.pk, "format": "json"}
    if kind == "entry":
        version = obj.attachments.get().versions.get()
        return {**common, "instance_pk": obj.pk, "reference": obj.reference, "version_pk": version.pk,
                "app_label": "wagtail_correspondence", "model_name": "correspondence"}
    if kind == "letter":
        return {**common, "key": obj.reference, "app_label": "wagtail_correspondence", "model_name": "letter"}
    if kind == "portal":
        return {"token": obj.token}
    if kind == "batch":
        return {**common, "id": str(obj.uuid)}
    if kind == "print_run":
        return {**common, "kind": "pdf"}
    if kind == "customer":
        return {"customer_id": obj.pk, "pk": obj.pk, "format": "json"}
    if kind == "translation":
        from wagtail_localize.models import StringSegment

        segment = StringSegment.objects.filter(source=obj.source).order_by("order").first()
        return {**common, "translation_id": obj.pk, "translation_source_id": obj.source_id,
                "string_segment_id": segment.pk, "overridable_segment_id": 1, "mode": "default"}
    if kind == "template":
        return {**common, "template_id": obj.pk, "page_id": obj.pk, "parent_page_id": obj.pk,
                "page_to_move_id": obj.pk, "revision_id": obj.latest_revision_id}
    if kind in ("fragment", "layout", "dictionary", "content_category", "enclosure"):
        model = type(obj)
        revision = getattr(obj, "latest_revision_id", None)
        return {**common, "key": getattr(obj, "key", ""), "app_label": "wagtail_correspondence",
                "model_name": model._meta.model_name, "revision_id": revision, "revision_id_a": "earliest",
                "revision_id_b": "latest"}
    if kind in ("department", "category", "routing_rule", "sla_policy", "calendar", "retention_policy",
                "approval_rule"):
        return {**common, "instance_pk": obj.pk}
    if kind == "page":
        return {**common, "page_id": obj.pk, "parent_page_id": obj.pk, "page_to_move_id": obj.pk,
                "page_pk": obj.pk, "revision_id": obj.latest_revision_id, "revision_id_a": "earliest",
                "revision_id_b": "latest"}
    if kind == "image":
        return {**common, "image_id": obj.pk, "filter_spec": "original"}
    if kind == "document":
        return {**common, "document_id": obj.pk, "doc_id": obj.pk}
    if kind == "collection":
        return {**common, "collection_id": obj.pk}
    if kind == "task":
        return {**common, "task_id": obj.pk}
    return common


# The cases -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """URL patterns (a regular expression over their full names) that name a ``kind`` of object.

    ``args`` gives arguments that do not name the object (an action, a session); ``found``
    says whether the superuser finds the in-scope object there (False for views that need
    state the world does not have, each with its reason in ``why``); ``query`` is added to
    the URL."""

    names: str
    kind: str
    args: dict = field(default_factory=dict)
    found: bool = True
    why: str = ""
    query: str = ""


LETTERS = "wagtail_correspondence_letters"
API = "wagtail_correspondence_api"
SNIPPETS = "wagtailsnippets_wagtail_correspondence_"
CHOOSERS = "wagtailsnippetchoosers_wagtail_correspondence_"
WORKFLOW_ARGS = {"action_name": "approve", "task_state_id": 1, "task_id": 1, "workflow_state_id": 1}
SNIPPET_KINDS = {"fragment": "fragment", "layout": "layout", "datadictionary": "dictionary",
                 "contentcategory": "content_category", "enclosure": "enclosure"}
NO_WORKFLOW = "the object is in no workflow, so the task state named does not exist"

CASES = [
    # The register.
    Case(r"correspondence_register_entries_modeladmin_(edit|inspect)", "entry"),
    Case(r"wagtail_correspondence_register:(transition|assign|take|note|upload|download|restore|legal_hold)",
         "entry"),
    Case(r"wagtail_correspondence_register:export_download", "register_export", found=False,
         why="an export is its requester's alone: the superuser too is told it does not exist"),
    Case(rf"{API}:correspondence-(detail|assign|attachments|history|legal-hold|notes|transition)", "entry"),
    Case(r"wagtailadmin_editing_sessions:ping", "entry", args={"session_id": 1}),
    # Letters, batches, print runs, portal replies.
    Case(rf"{LETTERS}:(edit|delete|history|history_results|usage|inspect|pdf)", "letter"),
    Case(r"wagtailadmin_editing_sessions:ping", "letter", args={"session_id": 1}),
    Case(rf"{API}:letter-(detail|generate|pdf|pdf-verification|approve|return-for-changes|withdraw)", "letter"),
    Case(rf"{LETTERS}:(decide|withdraw)", "letter"),
    Case(r"wagtail_correspondence_portal:(letter|pdf)", "portal"),
    Case(rf"{LETTERS}:(batch|batch_progress|batch_start|batch_cancel|batch_resume|batch_results)", "batch"),
    Case(rf"{API}:batch-(detail|cancel|start|resume|rows)", "batch"),
    Case(rf"{LETTERS}:portal_attachment", "portal_response"),
    Case(rf"{LETTERS}:(print_run|print_run_progress|print_run_file)", "print_run"),
    Case(rf"{LETTERS}:customer_record", "customer"),
    Case(r"wagtail_correspondence_register:customer_party", "customer"),
    Case(rf"{API}:customer-detail", "customer"),
    # The content library.
    Case(rf"{LETTERS}:(build|preview|preview_pdf)", "template"),
    Case(rf"{API}:template-detail", "template"),
    *[Case(rf"{SNIPPETS}{model}:.*", kind, args=WORKFLOW_ARGS) for model, kind in SNIPPET_KINDS.items()],
    *[Case(rf"{CHOOSERS}{model}:chosen", kind) for model, kind in SNIPPET_KINDS.items()],
    Case(r"wagtail_bulk_action", "fragment", args={"action": "delete"}, query="id={pk}"),
    Case(r"wagtail_bulk_action", "entry", args={"action": "delete"}, query="id={pk}", found=False,
         why="register entries have no bulk actions"),
    Case(rf"{API}:fragment-detail", "fragment"),
    # Translating the library (wagtail-localize): fragments and layouts, templates, one translation.
    *[Case(r"wagtail_localize:(submit_snippet_translation|snippets_api_listing|snippets_api_detail)", kind)
      for kind in ("fragment", "layout")],
    Case(r"wagtail_localize:(submit_page_translation|convert_to_alias)", "template"),
    Case(r"wagtail_localize:(update_translations|edit_string_translation|edit_override|download_pofile|upload_pofile"
         r"|machine_translate|preview_translation|stop_translation)|wagtail_correspondence_stop_translation",
         "translation"),
    Case(r"wagtaillocales:.*", "locale"),
    Case(rf"{API}:layout-detail", "layout"),
    Case(rf"{API}:data-dictionary-(detail|validate)", "dictionary"),
    # Template pages, in Wagtail's page views.
    Case(r"wagtailadmin_pages:.*|wagtailadmin_explore.*|wagtailadmin_choose_page_child|wagtailadmin_api:pages:.*",
         "template", args={**WORKFLOW_ARGS, "destination_id": 1, "revision_id_a": "earliest",
                           "revision_id_b": "latest", "content_type_app_name": "wagtail_correspondence",
                           "content_type_model_name": "lettertemplatepage", "app_label": "wagtail_correspondence",
                           "model_name": "lettertemplatepage", "pk": None}),
    Case(r"wagtailforms:.*", "page", found=False, why="the site has no form pages"),
    Case(r"wagtailcore_authenticate_with_password", "page", args={"page_view_restriction_id": 1}, found=False,
         why="no page is password-protected"),
    # The register's settings and departments.
    Case(r"wagtail_correspondence_department_modeladmin_.*", "department"),
    Case(rf"{API}:department-detail", "department"),
    Case(r"correspondence_register_categories_modeladmin_.*", "category"),
    Case(r"correspondence_register_routing-rules_modeladmin_.*", "routing_rule"),
    Case(r"correspondence_register_sla-policies_modeladmin_.*", "sla_policy"),
    Case(r"correspondence_register_calendars_modeladmin_.*", "calendar"),
    Case(r"correspondence_register_retention-policies_modeladmin_.*", "retention_policy"),
    Case(r"wagtail_correspondence_letter_approval_rules:.*", "approval_rule"),
    # Wagtail's own objects.
    Case(r"wagtailusers_users:.*", "user"),
    Case(r"wagtailusers_groups:.*", "group"),
    Case(r"wagtailadmin_workflows:(enable|disable|edit|usage|usage_results)", "workflow"),
    Case(r"wagtailadmin_workflows:remove", "page", args={"workflow_pk": 1}, found=False,
         why="the page has no workflow of its own to remove"),
    Case(r"wagtailadmin_workflows:(edit_task|disable_task|enable_task|task_chosen)", "task"),
    Case(r"wagtailadmin_workflows:add_task", "task", args={"app_label": "wagtailcore", "model_name": "groupapprovaltask"}),
    Case(r"wagtailsites:.*", "site"),
    Case(r"wagtailadmin_collections:.*", "collection"),
    Case(r"wagtailimages:.*|wagtailimages_chooser:.*|wagtailadmin_api:images:.*", "image",
         args={"uploaded_file_id": 1}),
    Case(r"wagtaildocs:.*|wagtaildocs_chooser:.*|wagtailadmin_api:documents:.*", "document",
         args={"uploaded_file_id": 1}),
    Case(r"wagtaildocs_authenticate_with_password", "document", args={"restriction_id": 1}, found=False,
         why="no document is password-protected"),
    Case(r"wagtailredirects:.*", "page", args={"redirect_id": 1}, found=False, why="the site has no redirects"),
    Case(r"wagtailsettings:.*", "page", args={"app_name": "wagtailcore", "model_name": "none"}, found=False,
         why="the site registers no settings models"),
    Case(r"wagtailadmin_tag_model_autocomplete", "page", args={"app_name": "taggit", "model_name": "tag"},
         found=False, why="no model is tagged through this view"),
    Case(r"wagtailadmin_editing_sessions:release", "page", args={"session_id": 1}, found=False,
         why="there is no editing session"),
    Case(r"wagtailadmin_password_reset_confirm", "user", args={"uidb64": "MQ", "token": "set-password"}),
]

# Patterns that answer 404 even to the superuser for the in-scope object, and why. Each must
# still hold no data out of scope for anyone.
NOT_FOUND_FOR_EVERYONE = {
    rf"{SNIPPETS}.*:(workflow_action|collect_workflow_action_data|workflow_history_detail|workflow_preview)": NO_WORKFLOW,
    r"wagtailadmin_pages:(workflow_action|collect_workflow_action_data|workflow_history_detail|workflow_preview)":
        NO_WORKFLOW,
    rf"{SNIPPETS}.*:revisions_unschedule|wagtailadmin_pages:revisions_unschedule": "no revision is scheduled",
    rf"{SNIPPETS}(contentcategory|datadictionary):.*(preview|revisions_view|unpublish|lock|unlock|workflow).*":
        "categories and dictionaries have no drafts, previews or workflow",
    r"wagtailadmin_pages:(convert_alias|move_confirm)": "the template is no alias; no destination named",
    r"wagtailimages:url_generator(_output)?": "the site serves no dynamic image URLs",
    r"wagtail_localize:convert_to_alias": "the template is no translation made from an alias",
    r"wagtail_localize:preview_translation": "wagtail-localize previews translations of pages only (the world "
                                             "translates a fragment)",
    r".*:(create_multiple_from_uploaded_image|create_multiple_from_uploaded_document|delete_upload_multiple)":
        "no upload is pending",
}


def not_found_reason(name):
    for pattern, why in NOT_FOUND_FOR_EVERYONE.items():
        if re.fullmatch(pattern, name):
            return why
    return ""


# The resolver ----------------------------------------------------------------------------

def walk(patterns=None, namespace=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if pattern.namespace and namespace else (
                pattern.namespace or namespace)
            yield from walk(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else (pattern.name or "")
            yield name, pattern


# Arguments that never name an object: the API's format suffix (``letters.json``).
NOT_OBJECTS = {"format"}


def object_patterns():
    """(full name, argument names) of every named pattern whose arguments name an object."""
    found = {}
    for name, pattern in walk():
        arguments_ = frozenset(pattern.pattern.regex.groupindex)
        if arguments_ - NOT_OBJECTS:
            found.setdefault(name, set()).add(arguments_)
    return found


def list_patterns():
    """Full names of the patterns that take no argument, with the URL each answers at."""
    found = {}
    for name, pattern in walk():
        if not pattern.pattern.regex.groupindex and name and pattern.pattern.regex.groups == 0:
            try:
                found[name] = reverse(name)
            except Exception:  # noqa: BLE001 - a pattern reverse() cannot build has no fixed URL
                continue
    return found


def cases_for(name):
    return [case for case in CASES if re.fullmatch(case.names, name)]


def test_every_pattern_has_a_case():
    """A URL pattern that names an object but that no case describes: say who may reach it
    (add a Case above, after adding its access rule to the view: permissions/base.py)."""
    missing = sorted(name for name in object_patterns() if not cases_for(name))
    unnamed = [str(pattern.pattern) for name, pattern in walk()
               if set(pattern.pattern.regex.groupindex) - NOT_OBJECTS and not name]
    assert not missing, f"URL patterns without a case: {missing}"
    assert not unnamed, f"URL patterns that name an object without a name: {unnamed}"


# Requests and checks --------------------------------------------------------------------

def text_of(response):
    content = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    return content.decode("utf-8", errors="replace")


TEXT_TYPES = ("text/html", "application/json", "text/plain", "text/csv", "application/problem+json")


def hidden_markers(role, objects):
    """What ``role`` must never find in a response: the markers of the objects it may not see,
    and the reference numbers of such entries and letters (which history pages, log labels
    and page titles show where no marker would)."""
    hidden = set()
    for kind, table in SEEN.items():
        for variant in ("in", "out", "secret"):
            if variant not in table[role]:
                hidden.add(marker(kind, variant))
                reference = getattr(objects.get((kind, variant)), "reference", "") if kind in REFERENCED else ""
                if reference:
                    hidden.add(reference)
    return hidden


REFERENCED = {"entry", "letter"}


def leaks(text, hidden):
    # IN-2026-000001 must not match inside IN-2026-000012.
    return sorted(item for item in hidden if re.search(re.escape(item) + r"(?!\d)", text))


def shown_through(kind, variant, seen, objects):
    """Markers a link shows to whoever holds it: a portal link, the letter and its replies."""
    if kind == "portal" and seen:
        return {marker("letter", variant), marker("portal_response", variant), objects[("letter", variant)].reference}
    return set()


def check(response, role, url, variant_seen, problems, hidden):
    if response.status_code >= 500:
        problems.append(f"{role} {url}: {response.status_code}")
        return
    text = text_of(response)
    leaked = leaks(text, hidden)
    if leaked:
        problems.append(f"{role} {url}: {response.status_code} holds {leaked}")
    content_type = response.get("Content-Type", "")
    if response.status_code == 200 and not variant_seen and not content_type.startswith(TEXT_TYPES):
        problems.append(f"{role} {url}: served a {content_type} of an object out of scope")


def client_for(client_class, users, role):
    client = client_class(raise_request_exception=False)  # a 500 is a finding to list, not to stop at
    if role != ANONYMOUS:
        client.force_login(users[role])
    return client


def urls_for(case, name, argument_sets, obj, world):
    """Every URL of the pattern ``name`` for ``obj`` (one per argument set it takes)."""
    given = {key: value for key, value in case.args.items() if value is not None}
    values = {**arguments(case.kind, obj, world), **given}
    built = []
    for names in argument_sets:
        missing = names - set(values)
        assert not missing, f"{name}: no value for {sorted(missing)} of a {case.kind}"
        url = reverse(name, kwargs={key: values[key] for key in names})
        if case.query:
            url += "?" + case.query.format(pk=obj.pk)
        built.append(url)
    return built


def test_no_object_out_of_scope_in_any_response(marked, client_class):
    """Each pattern of each case, for each role and each variant of the object. One world for
    every kind (building it is most of the cost); the failures are listed all together."""
    from django.core.cache import cache

    patterns = object_patterns()
    problems, unfound = [], []
    clients = {role: client_for(client_class, marked.users, role) for role in EVERYONE}
    hidden = {role: hidden_markers(role, marked.objects) for role in EVERYONE}
    for case in CASES:
        cache.clear()  # the API throttles per user id
        for name, argument_sets in sorted(patterns.items()):
            if not re.fullmatch(case.names, name):
                continue
            for variant in ("in", "out", "secret"):
                obj = marked.objects.get((case.kind, variant))
                if obj is None:
                    continue
                for url in urls_for(case, name, argument_sets, obj, marked.world):
                    for role in EVERYONE:
                        seen = variant in SEEN[case.kind][role]
                        response = clients[role].get(url)
                        shown = shown_through(case.kind, variant, seen, marked.objects)
                        check(response, role, url, seen, problems, hidden[role] - shown)
                        if role == "superuser" and variant == "in" and response.status_code == 404 \
                                and case.found and not not_found_reason(name):
                            unfound.append(url)
    assert not problems, "\n".join(problems)
    # The arguments really name the objects: otherwise every check above passes for nothing.
    assert not unfound, f"the superuser does not find the in-scope object at {unfound}"


@pytest.fixture
def client_class():
    from django.test import Client

    return Client


# Wagtail's page for checking how the admin shows a server error: it fails on purpose.
DELIBERATE_ERRORS = {"wagtailadmin_error_test"}


def test_lists_and_searches_hold_no_data_out_of_scope(marked, client_class):
    """Every pattern that takes no argument (lists, searches, dashboards, reports, the API's
    lists), plain and searching for the markers, for every role."""
    from django.core.cache import cache

    problems = []
    for role in EVERYONE:
        cache.clear()
        client = client_for(client_class, marked.users, role)
        hidden = hidden_markers(role, marked.objects)
        for name, url in sorted(list_patterns().items()):
            if name.endswith(("logout", "login")) or "password_reset" in name or name in DELIBERATE_ERRORS:
                continue
            for query in ("", "?q=Zq", "?search=Zq"):
                check(client.get(url + query), role, url + query, True, problems, hidden)
    assert not problems, "\n".join(problems)
