"""Routing: the first active rule whose conditions all hold decides where a new entry goes.

The decision (which rule, what it set, which conditions matched) is stored on the entry, so
"why did this land with Billing?" has an answer long after the rules have changed.
"""

from dataclasses import dataclass, field

from django.utils import timezone

from ..models import Assignment, RoutingRule
from ..rendering.sandbox import MergeError, evaluate_expression
from .lookups import Lookups
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


def matches(rule, entry, customer=None, lookups=None):
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
        if entry.category_id is None:
            return None
        lineage = {category.pk for category in (lookups or Lookups()).category_lineage(entry.category_id)}
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


class Turns:
    """Round-robin turns handed out during one run of registrations. Each rule's row is locked
    the first time it is used (so that two intakes at once do not pick the same person) and
    its members are read then; ``save`` writes each rule's last assignee once, before the
    transaction that took the turns commits."""

    def __init__(self):
        self._members, self._last, self._taken = {}, {}, set()

    def next(self, rule):
        """The member after the one this rule assigned last."""
        if rule.pk not in self._members:
            locked = RoutingRule.objects.select_for_update().get(pk=rule.pk)
            self._members[rule.pk] = eligible_members(locked.department)
            self._last[rule.pk] = locked.last_assignee_id
        members, last = self._members[rule.pk], self._last[rule.pk]
        if not members:
            return None
        following = [member for member in members if last is None or member.pk > last]
        chosen = following[0] if following else members[0]
        self._last[rule.pk] = chosen.pk
        self._taken.add(rule.pk)
        return chosen

    def save(self):
        for rule_id in sorted(self._taken):
            RoutingRule.objects.filter(pk=rule_id).update(last_assignee=self._last[rule_id])
        self._taken.clear()


def next_in_turn(rule):
    """Round-robin, for one entry: the member after the one this rule assigned last."""
    turns = Turns()
    chosen = turns.next(rule)
    turns.save()
    return chosen


def assignee_for(rule, turns=None, lookups=None):
    """Who a rule assigns: its fixed person, the next in turn, or nobody. With ``turns``, the
    turn is recorded there (and written by ``turns.save()``). The fixed person is read for
    the run (``lookups``), not from the rule: rules are kept between runs, people change."""
    if rule.assignment == Assignment.FIXED:
        return (lookups or Lookups()).person(rule.assignee_id)
    if rule.assignment == Assignment.ROUND_ROBIN:
        return turns.next(rule) if turns is not None else next_in_turn(rule)
    return None


def route(entry, customer=None, assign=True, lookups=None):
    """Decide department, assignee, priority and SLA policy for a new entry (must run inside
    the transaction that saves it, for the round-robin lock). With ``assign=False`` nobody is
    picked, so no round-robin turn is used up; ``assignee_for(decision.rule)`` picks later.
    ``lookups``: the rules and categories of the run (read now when not given)."""
    lookups = lookups or Lookups()
    for rule in lookups.rules(entry.direction):
        matched = matches(rule, entry, customer, lookups)
        if matched is None:
            continue
        decision = RoutingDecision(rule=rule, department=rule.department, priority=rule.priority,
                                   sla_policy=rule.sla_policy, matched=matched or ["no conditions"])
        if assign:
            decision.assignee = assignee_for(rule, lookups=lookups)
        return decision
    return RoutingDecision()
