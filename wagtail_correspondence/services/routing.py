"""Routing: the first active rule whose conditions all hold decides where a new entry goes.

The decision (which rule, what it set, which conditions matched) is stored on the entry, so
"why did this land with Billing?" has an answer long after the rules have changed.
"""

from dataclasses import dataclass, field

from django.utils import timezone

from ..models import Assignment, RoutingRule
from ..rendering.sandbox import MergeError, evaluate_expression
from .register_access import workers


@dataclass
class RoutingDecision:
    rule: RoutingRule = None
    department: object = None
    assignee: object = None
    priority: str = ""
    sla_policy: object = None
    matched: list = field(default_factory=list)

    def as_record(self):
        return {
            "rule_id": self.rule.pk if self.rule else None,
            "rule": self.rule.name if self.rule else None,
            "matched": self.matched,
            "department": self.department.code if self.department else None,
            "assignee": self.assignee.get_username() if self.assignee else None,
            "priority": self.priority or None,
            "sla_policy": self.sla_policy.name if self.sla_policy else None,
            "decided_at": timezone.now().isoformat(),
        }


def _domain(address):
    return address.rsplit("@", 1)[-1].lower() if "@" in address else ""


def matches(rule, entry, customer=None):
    """The conditions of ``rule`` that ``entry`` meets, or None when one fails."""
    matched = []
    if rule.direction and rule.direction != entry.direction:
        return None
    if rule.kinds:
        if entry.kind not in rule.kinds:
            return None
        matched.append(f"kind={entry.kind}")
    if rule.channels:
        if entry.channel not in rule.channels:
            return None
        matched.append(f"channel={entry.channel}")
    rule_categories = list(rule.categories.all())
    if rule_categories:
        if entry.category is None:
            return None
        lineage = {category.pk for category in entry.category.lineage()}
        hit = next((category for category in rule_categories if category.pk in lineage), None)
        if hit is None:
            return None
        matched.append(f"category={hit.code}")
    if rule.sender_list:
        address = (entry.sender_email or "").lower()
        hit = next((pattern for pattern in rule.sender_list
                    if address and (pattern == address or (pattern.startswith("@") and _domain(address) == pattern[1:]))),
                   None)
        if hit is None:
            return None
        matched.append(f"sender={hit}")
    if rule.keyword_list:
        text = f"{entry.subject}\n{entry.body}".lower()
        hit = next((keyword for keyword in rule.keyword_list if keyword in text), None)
        if hit is None:
            return None
        matched.append(f"keyword={hit}")
    if rule.customer_condition:
        if customer is None:
            return None
        try:
            if not evaluate_expression(rule.customer_condition, customer):
                return None
        except MergeError:
            # A condition about data the record lacks is a non-match, not an intake failure.
            return None
        matched.append(f"customer: {rule.customer_condition}")
    return matched


def eligible_members(department):
    """Active members of a department who may work register entries, in a stable order."""
    return list(workers().filter(correspondence_departments=department).order_by("pk"))


def next_in_turn(rule):
    """Round-robin: the member after the one this rule assigned last. The rule row is locked
    so that two intakes at once do not pick the same person."""
    locked = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    members = eligible_members(locked.department)
    if not members:
        return None
    following = [member for member in members if locked.last_assignee_id is None or member.pk > locked.last_assignee_id]
    chosen = following[0] if following else members[0]
    RoutingRule.objects.filter(pk=rule.pk).update(last_assignee=chosen)
    return chosen


def assignee_for(rule):
    """Who a rule assigns: its fixed person, the next in turn, or nobody."""
    if rule.assignment == Assignment.FIXED:
        return rule.assignee
    if rule.assignment == Assignment.ROUND_ROBIN:
        return next_in_turn(rule)
    return None


def route(entry, customer=None, assign=True):
    """Decide department, assignee, priority and SLA policy for a new entry (must run inside
    the transaction that saves it, for the round-robin lock). With ``assign=False`` nobody is
    picked, so no round-robin turn is used up; ``assignee_for(decision.rule)`` picks later."""
    rules = RoutingRule.objects.filter(is_active=True, direction=entry.direction).select_related(
        "department", "assignee", "sla_policy").prefetch_related("categories").order_by("sort_order", "pk")
    for rule in rules:
        matched = matches(rule, entry, customer)
        if matched is None:
            continue
        decision = RoutingDecision(rule=rule, department=rule.department, priority=rule.priority,
                                   sla_policy=rule.sla_policy, matched=matched or ["no conditions"])
        if assign:
            decision.assignee = assignee_for(rule)
        return decision
    return RoutingDecision()
