"""What registering an entry reads about the configuration.

Routing, the SLA policy and the deadline of a new entry depend on the routing rules, the
category tree, the SLA policies, the department calendars and the customer's record. A run
of registrations (a mailbox, an import, or a single entry) asks the same few of them again
and again; ``Lookups`` answers them for one run.

The configuration part is kept between runs, in the process, for as long as the
``ConfigurationStamp`` token it was read under holds: database triggers change the token
with any write to the rules, the trees, the policies or the calendars
(configuration_stamp.py), so a rule changed in the admin applies from the next run on, in
every process. A run then reads one row, not the rules, the trees and the calendars. The
customer's record and people (who may have left since) are read once per run, never kept.
"""

import threading

from django.contrib.auth import get_user_model

from ..customers import CustomerNotFound, get_customer_source
from ..models import Category, ConfigurationStamp, RoutingRule, SlaPolicy
from .calendar import WorkingCalendar

NO_CALENDAR = object()  # a department kept as having no calendar of its own or its ancestors'


class Configuration:
    """The configuration read under one token. Its objects are shared by every run and
    thread of the process that holds the same token: read them, never change them."""

    def __init__(self, token):
        self.token = token
        self.rules = {}
        self.categories = None
        self.lineages = {}
        self.policies = None
        self.calendars = {}


_kept = None
_lock = threading.Lock()


def configuration():
    """The kept configuration if the stamp still holds its token, else a new one (kept when
    there is a token; without the stamp's row, used for one run only). The token is read
    before anything the configuration holds: a change committed in between gives it a token
    that is already old, never an old configuration a current token."""
    global _kept
    token = ConfigurationStamp.objects.values_list("token", flat=True).first()
    with _lock:
        if token is not None and _kept is not None and _kept.token == token:
            return _kept
        fresh = Configuration(token)
        if token is not None:
            _kept = fresh
        return fresh


def forget():
    """Drop what is kept (tests, and a changed setting)."""
    global _kept
    with _lock:
        _kept = None


class Lookups:
    def __init__(self):
        self._configuration = None
        self._customers = {}
        self._people = {}

    @property
    def kept(self):
        if self._configuration is None:
            self._configuration = configuration()
        return self._configuration

    def rules(self, direction):
        """The active routing rules for ``direction``, in the order they are tried. Their
        ``assignee`` is not loaded with them: ``person`` reads it for the run."""
        rules = self.kept.rules
        if direction not in rules:
            rules[direction] = list(
                RoutingRule.objects.filter(is_active=True, direction=direction)
                .select_related("department", "sla_policy").prefetch_related("categories")
                .order_by("sort_order", "pk"))
        return rules[direction]

    def category_lineage(self, category_id):
        """The category and its ancestors, nearest first (``Category.lineage``), from the
        whole tree read once: a register has tens of categories, not thousands."""
        kept = self.kept
        if category_id not in kept.lineages:
            if kept.categories is None:
                kept.categories = {category.pk: category for category in Category.objects.all()}
            category = kept.categories.get(category_id) or Category.objects.get(pk=category_id)
            ancestors = [other for other in kept.categories.values() if category.path.startswith(other.path)]
            kept.lineages[category_id] = sorted(ancestors, key=lambda other: -other.depth)
        return kept.lineages[category_id]

    def sla_policies(self):
        """The active SLA policies, oldest first (``sla.policy_for`` breaks ties by that)."""
        kept = self.kept
        if kept.policies is None:
            kept.policies = list(SlaPolicy.objects.filter(is_active=True).order_by("pk"))
        return kept.policies

    def calendar(self, department):
        """The working calendar of ``department`` (None: the default calendar, which comes
        from the settings and is therefore never kept)."""
        if department is None:
            return WorkingCalendar.default()
        calendars = self.kept.calendars
        if department.pk not in calendars:
            model = department.effective_calendar()
            calendars[department.pk] = WorkingCalendar.from_model(model) if model is not None else NO_CALENDAR
        calendar = calendars[department.pk]
        return WorkingCalendar.default() if calendar is NO_CALENDAR else calendar

    def person(self, user_id):
        """A user by id, read once per run (a rule's fixed assignee)."""
        if user_id is None:
            return None
        if user_id not in self._people:
            self._people[user_id] = get_user_model()._default_manager.filter(pk=user_id).first()
        return self._people[user_id]

    def customer(self, customer_id):
        """The customer's record from the configured source, or None when unknown."""
        if not customer_id:
            return None
        if customer_id not in self._customers:
            try:
                self._customers[customer_id] = get_customer_source().get(customer_id)
            except CustomerNotFound:
                self._customers[customer_id] = None
        return self._customers[customer_id]
