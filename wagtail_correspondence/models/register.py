import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from taggit.models import TaggedItemBase
from wagtail.search import index

from .fields import EncryptedTextField


def _label(choices, value):
    """The label of ``value`` among ``choices`` (a TextChoices), or the value itself if unknown."""
    try:
        return choices(value).label
    except ValueError:
        return value


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")
    INTERNAL = "internal", _("Internal")


class Kind(models.TextChoices):
    LETTER = "letter", _("Letter")
    EMAIL = "email", _("Email")
    NOTICE = "notice", _("Notice")
    MEMO = "memo", _("Memo")
    INQUIRY = "inquiry", _("Inquiry")
    COMPLAINT = "complaint", _("Complaint")
    LEGAL = "legal", _("Legal document")
    INVOICE = "invoice", _("Invoice")
    OTHER = "other", _("Other")


class RegisterChannel(models.TextChoices):
    POST = "post", _("Post")
    EMAIL = "email", _("Email")
    PORTAL = "portal", _("Secure portal")
    FAX = "fax", _("Fax")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone")
    COUNTER = "counter", _("In person")
    API = "api", _("Other system")
    INTERNAL = "internal", _("Internal")


class Status(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    AWAITING_CUSTOMER = "awaiting_customer", _("Awaiting customer")
    RESPONDED = "responded", _("Responded")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = [Status.REGISTERED, Status.ASSIGNED, Status.IN_PROGRESS, Status.AWAITING_CUSTOMER]


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class Confidentiality(models.TextChoices):
    INTERNAL = "internal", _("Internal")
    CONFIDENTIAL = "confidential", _("Confidential")
    SECRET = "secret", _("Strictly confidential")


class Source(models.TextChoices):
    ADMIN = "admin", _("Registered in the admin")
    MAILBOX = "mailbox", _("Mailbox")
    API = "api", _("API")
    PORTAL = "portal", _("Portal reply")
    LETTER = "letter", _("Generated letter")


class TaggedCorrespondence(TaggedItemBase):
    content_object = ParentalKey("wagtail_correspondence.Correspondence", on_delete=models.CASCADE,
                                 related_name="tagged_items")


class InLiterals(models.Lookup):
    """``field IN ('a', 'b')`` with the values written into the SQL instead of bound as
    parameters. SQLite uses a partial index only when it can see, while planning, that the
    query's condition is the index's, and bound values are unknown then: the open-entry
    indexes answered the overdue count in 5 ms instead of 78 ms at 100,000 entries once the
    statuses were written out. Only for fixed values of our own (the open statuses), never
    for input."""

    lookup_name = "in_literals"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        values = ", ".join("'" + str(value).replace("'", "''") + "'" for value in self.rhs)
        return f"{lhs} IN ({values})", params


class CorrespondenceQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in_literals=OPEN_STATUSES)

    def overdue(self, now=None):
        """Open, not paused, and past the deadline."""
        return self.filter(overdue_condition(now))


def overdue_condition(now=None):
    """Q of the entries ``CorrespondenceQuerySet.overdue`` keeps, for filters that also
    exclude them (``~overdue_condition()``)."""
    return Q(status__in_literals=OPEN_STATUSES, due_at__lt=now or timezone.now(), sla_paused_at__isnull=True)


class Correspondence(index.Indexed, ClusterableModel):
    """One item in the register: anything that came in, went out, or passed between
    departments. Changed only through ``services.register``, which enforces the status
    machine, versions every change with django-reversion and writes the audit log."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(_("reference number"), max_length=60, unique=True)
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices, db_index=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.LETTER)
    channel = models.CharField(_("channel"), max_length=20, choices=RegisterChannel.choices,
                               default=RegisterChannel.POST)
    subject = models.CharField(_("subject"), max_length=500)
    body = models.TextField(_("body or summary"), blank=True)

    sender_name = models.CharField(_("sender name"), max_length=255, blank=True)
    sender_organisation = models.CharField(_("sender organisation"), max_length=255, blank=True)
    sender_address = models.TextField(_("sender address"), blank=True)
    sender_email = models.EmailField(_("sender email"), blank=True)
    sender_phone = models.CharField(_("sender phone"), max_length=50, blank=True)
    recipients = models.JSONField(_("recipients"), default=list, blank=True,
                                  help_text=_("Each with name, organisation, address, email and phone"))
    customer_id = models.CharField(_("customer"), max_length=100, blank=True, db_index=True)
    external_reference = models.CharField(_("their reference"), max_length=255, blank=True)

    received_at = models.DateTimeField(_("received at"), null=True, blank=True, db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True, db_index=True)
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)  # indexed in Meta
    due_at = models.DateTimeField(_("due at"), null=True, blank=True, db_index=True)
    responded_at = models.DateTimeField(_("responded at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.REGISTERED,
                              db_index=True)
    status.register_lookup(InLiterals)
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL,
                                db_index=True)
    confidentiality = models.CharField(_("confidentiality"), max_length=20, choices=Confidentiality.choices,
                                       default=Confidentiality.INTERNAL)
    category = models.ForeignKey("wagtail_correspondence.Category", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="entries", verbose_name=_("category"))
    department = models.ForeignKey("wagtail_correspondence.Department", on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="entries", verbose_name=_("department"))
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="assigned_correspondence", verbose_name=_("assignee"))
    tags = ClusterTaggableManager(through=TaggedCorrespondence, blank=True, verbose_name=_("tags"))

    in_reply_to = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="replies",
                                    verbose_name=_("in reply to"))
    thread_root = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="thread_entries", verbose_name=_("thread"),
                                    help_text=_("The first entry of the conversation (itself for a first entry)"))
    letter = models.OneToOneField("wagtail_correspondence.Letter", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="register_entry", verbose_name=_("letter"))
    portal_response = models.OneToOneField("wagtail_correspondence.PortalResponse", on_delete=models.PROTECT,
                                           null=True, blank=True, related_name="register_entry")
    message_id = models.CharField(_("message id"), max_length=255, blank=True, db_index=True,
                                  help_text=_("The email Message-ID; each message is registered once"))
    source = models.CharField(_("registered through"), max_length=20, choices=Source.choices, default=Source.ADMIN)
    delivery_status = models.CharField(_("delivery status"), max_length=20, blank=True)

    routing_rule = models.ForeignKey("wagtail_correspondence.RoutingRule", on_delete=models.SET_NULL, null=True,
                                     blank=True, related_name="routed_entries", verbose_name=_("routed by"))
    routing_decision = models.JSONField(_("routing decision"), default=dict, blank=True, editable=False)
    sla_policy = models.ForeignKey("wagtail_correspondence.SlaPolicy", on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="entries", verbose_name=_("SLA policy"))
    sla_started_at = models.DateTimeField(_("clock started"), null=True, blank=True, editable=False)
    sla_budget_seconds = models.PositiveIntegerField(_("working seconds allowed"), null=True, blank=True,
                                                     editable=False)
    sla_paused_at = models.DateTimeField(_("clock paused since"), null=True, blank=True, editable=False)
    sla_cycle = models.PositiveSmallIntegerField(_("deadline cycle"), default=0, editable=False)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0, editable=False)
    resolution = models.TextField(_("resolution"), blank=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("registered by"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Other systems retry: the same key from the same user gives the same entry.
    idempotency_key = models.CharField(_("idempotency key"), max_length=255, null=True, blank=True, editable=False)
    request_fingerprint = models.CharField(max_length=64, blank=True, editable=False)

    # Legal hold: retention never anonymises or purges a held entry, nor any entry (and
    # letter) of its conversation. Placed and lifted through services.retention.
    legal_hold = models.BooleanField(_("legal hold"), default=False, db_index=True, editable=False)
    legal_hold_reason = models.TextField(_("legal hold reason"), blank=True, editable=False)
    legal_hold_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", editable=False, verbose_name=_("legal hold placed by"))
    legal_hold_at = models.DateTimeField(_("legal hold placed at"), null=True, blank=True, editable=False)

    objects = CorrespondenceQuerySet.as_manager()

    search_fields = [
        index.SearchField("reference"), index.AutocompleteField("reference"),
        index.SearchField("subject"), index.AutocompleteField("subject"), index.SearchField("body"),
        index.SearchField("sender_name"), index.AutocompleteField("sender_name"),
        index.SearchField("sender_organisation"), index.SearchField("sender_email"),
        index.SearchField("customer_id"), index.SearchField("external_reference"),
        index.FilterField("direction"), index.FilterField("status"), index.FilterField("department"),
        index.FilterField("assignee"), index.FilterField("category"), index.FilterField("priority"),
        index.FilterField("registered_at"), index.FilterField("due_at"),
    ]

    class Meta:
        verbose_name = _("register entry")
        verbose_name_plural = _("register entries")
        ordering = ["-registered_at", "-pk"]
        permissions = [
            ("assign_correspondence", "Can assign register entries"),
            ("view_all_correspondence", "Can see register entries of every department"),
            ("view_confidential_correspondence", "Can see strictly confidential register entries"),
            ("restore_correspondence", "Can restore earlier values of register entries"),
            ("export_correspondence", "Can export the register"),
            ("set_legal_hold_correspondence", "Can place and lift legal holds"),
            ("export_subject_access", "Can export everything held about a customer (subject access)"),
        ]
        # For a register of millions (docs/performance.md, "Register at scale"): the lists'
        # order, keyset pages included; the entries search matches as text because the search
        # index may not have them yet; open entries by deadline (overdue lists, the SLA sweep).
        indexes = [
            # On PostgreSQL the index also holds what the scope, the overdue test and the
            # dashboard's volumes read, so that counts and volumes are answered from the index
            # alone (at a million entries the volumes took 265 ms reading the table, 46 ms from
            # the index); databases without covering indexes (SQLite) get the order alone.
            models.Index(fields=["-registered_at", "-id"], name="register_newest_covering",
                         include=["department", "assignee", "created_by", "confidentiality", "direction", "status",
                                  "due_at", "sla_paused_at", "responded_at", "closed_at"]),
            models.Index(fields=["updated_at"], name="register_recently_changed"),
            # Open entries by deadline (overdue lists and counts, the SLA sweep) and, for the
            # dashboard's "My work", by assignee and deadline. On PostgreSQL they hold what the
            # overdue test and the scope read, so that overdue counts come from the index alone
            # (at a million entries 200 ms walking the whole list order, 5 ms from these).
            models.Index(fields=["due_at"], condition=Q(status__in=OPEN_STATUSES), name="register_open_by_deadline",
                         include=["sla_paused_at", "direction", "department", "assignee", "created_by",
                                  "confidentiality"]),
            models.Index(fields=["assignee", "due_at"], condition=Q(status__in=OPEN_STATUSES),
                         name="register_open_by_assignee",
                         include=["sla_paused_at", "direction", "department", "created_by", "confidentiality"]),
            models.Index(fields=["department"], condition=Q(status__in=OPEN_STATUSES, assignee__isnull=True),
                         name="register_open_unassigned"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["message_id"], condition=~Q(message_id=""), name="unique_message_id"),
            models.UniqueConstraint(fields=["created_by", "idempotency_key"],
                                    condition=Q(idempotency_key__isnull=False), name="unique_entry_idempotency_key"),
        ]

    def __str__(self):
        return f"{self.reference} · {self.subject}"

    # Where PostgreSQL keeps each entry's own search document (migration 0030,
    # services.register_search), Wagtail's search index is not written for entries: nothing
    # reads it, and registering would pay for it.
    @classmethod
    def get_indexed_objects(cls):
        return cls.objects.none() if _searched_by_document() else super().get_indexed_objects()

    def get_indexed_instance(self):
        return None if _searched_by_document(self._state.db or "default") else self

    # Django's get_FOO_display() builds a dict of every choice on each call, which translates
    # every label: on a register list page that was a thousand gettext calls. One lookup here.
    def get_status_display(self):
        return _label(Status, self.status)

    def get_priority_display(self):
        return _label(Priority, self.priority)

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES

    @property
    def is_overdue(self):
        return bool(self.is_open and self.due_at and not self.sla_paused_at and self.due_at < timezone.now())

    @property
    def party(self):
        """Who the entry is with: the sender of inbound mail, the first recipient otherwise."""
        if self.direction == Direction.INBOUND:
            return self.sender_organisation and self.sender_name and f"{self.sender_name} ({self.sender_organisation})" \
                or self.sender_name or self.sender_organisation or self.sender_email
        first = (self.recipients or [{}])[0] if isinstance(self.recipients, list) else {}
        return first.get("name") or first.get("email") or ""

    def thread(self):
        root_id = self.thread_root_id or self.pk
        return Correspondence.objects.filter(Q(pk=root_id) | Q(thread_root_id=root_id)).order_by(
            "registered_at", "pk")

    def get_admin_url(self):
        return reverse("correspondence_register_entries_modeladmin_inspect", args=[self.pk])


def _searched_by_document(using="default"):
    from ..search_backend import document_search_available

    return document_search_available(using)


class Note(models.Model):
    """A remark on an entry by staff; never shown to customers."""

    correspondence = models.ForeignKey(Correspondence, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+",
                               verbose_name=_("author"))
    text = EncryptedTextField(_("text"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.text[:60]
