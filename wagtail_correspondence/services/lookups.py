"""What registering an entry reads about the configuration, read once per run.

Routing, the SLA policy and the deadline of a new entry depend on the routing rules, the
category tree, the SLA policies, the department calendars and the customer's record. A run
of registrations (a mailbox, an import, or a single entry) asks the same few of them again
and again; ``Lookups`` reads each once and keeps it for the run. A run is short (one
transaction of ``register_entries``), so a rule changed in the admin applies from the next
run on.
"""

from ..customers import CustomerNotFound, get_customer_source
from ..models import Category, RoutingRule, SlaPolicy
from .calendar import WorkingCalendar, calendar_for


class Lookups:
    def __init__(self):
        self._rules = {}
        self._categories = None
        self._lineages = {}
        self._policies = None
        self._calendars = {}
        self._customers = {}

    def rules(self, direction):
        """The active routing rules for ``direction``, in the order they are tried."""
        if direction not in self._rules:
            self._rules[direction] = list(
                RoutingRule.objects.filter(is_active=True, direction=direction)
                .select_related("department", "assignee", "sla_policy").prefetch_related("categories")
                .order_by("sort_order", "pk"))
        return self._rules[direction]

    def category_lineage(self, category_id):
        """The category and its ancestors, nearest first (``Category.lineage``), from the
        whole tree read once: a register has tens of categories, not thousands."""
        if category_id not in self._lineages:
            if self._categories is None:
                self._categories = {category.pk: category for category in Category.objects.all()}
            category = self._categories.get(category_id) or Category.objects.get(pk=category_id)
            ancestors = [other for other in self._categories.values() if category.path.startswith(other.path)]
            self._lineages[category_id] = sorted(ancestors, key=lambda other: -other.depth)
        return self._lineages[category_id]

    def sla_policies(self):
        """The active SLA policies, oldest first (``sla.policy_for`` breaks ties by that)."""
        if self._policies is None:
            self._policies = list(SlaPolicy.objects.filter(is_active=True).order_by("pk"))
        return self._policies

    def calendar(self, department):
        """The working calendar of ``department`` (None: the default calendar)."""
        if department is None:
            return WorkingCalendar.default()
        if department.pk not in self._calendars:
            self._calendars[department.pk] = calendar_for(department)
        return self._calendars[department.pk]

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
