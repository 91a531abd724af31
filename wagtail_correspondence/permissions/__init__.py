"""One permission policy per object kind, used by every view that shows or changes one:
the project's own views, the views Wagtail and wagtail-modeladmin generate, and the API.
Scope rules live in services/register_access.py and services/letter_access.py; these
policies are how views ask them. Content (fragments, layouts, template pages) keeps Wagtail's
policies with four-eyes review on top: review/permissions.py, registered from here too."""

from wagtail.permissions import register_permission_policy

from ..models import Enclosure, Fragment, Layout
from ..review.permissions import ReviewedContentPermissionPolicy
from .base import ScopedPermissionPolicy, guard_patterns, permission_rule, policy_rule
from .letters import batch_policy, letter_policy, portal_response_policy, print_run_policy
from .register import register_entry_policy, register_export_policy


def register_permission_policies():
    """Make these the policies Wagtail's own views find for our models (editing sessions,
    generic views, choosers). Called once, when the app is ready: before anything asks
    Wagtail's registry, which would otherwise settle on a plain model policy that knows
    nothing of departments, confidentiality or four-eyes review."""
    for policy in (register_entry_policy, register_export_policy, letter_policy, batch_policy, print_run_policy,
                   portal_response_policy):
        register_permission_policy(policy.model, policy, exact_class=True)
    for model in (Fragment, Layout, Enclosure):
        register_permission_policy(model, ReviewedContentPermissionPolicy(model))


__all__ = [
    "register_permission_policies",
    "ScopedPermissionPolicy", "guard_patterns", "permission_rule", "policy_rule", "batch_policy", "letter_policy",
    "portal_response_policy", "print_run_policy", "register_entry_policy", "register_export_policy",
]
