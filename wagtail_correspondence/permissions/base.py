"""Permission policies with a scope, and URL patterns that cannot skip them.

Wagtail and wagtail-modeladmin generate views beside the ones this project writes (history,
usage, inspect, revisions, choosers...). Those views check the model permission only, never
which object the user may see. Rather than trusting every generated view to ask, the
viewsets pass each URL pattern that names an object through ``guard_patterns``: the object
must be in the user's scope before any view code runs, else 404 (which also hides whether
it exists). A pattern that names an object but has no stated rule is a configuration error,
so a view added later cannot be reachable unscoped by accident.
"""

import functools
from dataclasses import dataclass
from typing import Callable

from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.http import Http404
from django.urls import URLPattern
from wagtail.permission_policies import ModelPermissionPolicy


class ScopedPermissionPolicy(ModelPermissionPolicy):
    """Django's model permissions, narrowed object by object by a scope.

    Subclasses define ``scope(user, action, queryset)``: the objects of ``queryset`` the
    user may act on with ``action``. Everything else (Wagtail's instance checks, the list
    querysets, the URL guard) is derived from it, so the rule lives in one place."""

    def scope(self, user, action, queryset):
        raise NotImplementedError

    def base_queryset(self):
        return self.model._default_manager.all()

    def instances_user_has_permission_for(self, user, action):
        return self.scope(user, action, self.base_queryset())

    def instances_user_has_any_permission_for(self, user, actions):
        pks = set()
        for action in actions:
            pks.update(self.instances_user_has_permission_for(user, action).values_list("pk", flat=True))
        return self.base_queryset().filter(pk__in=pks)

    def user_has_permission_for_instance(self, user, action, instance):
        if instance is None or instance.pk is None:
            return False
        return self.scope(user, action, self.base_queryset().filter(pk=instance.pk)).exists()

    def user_has_any_permission_for_instance(self, user, actions, instance):
        return any(self.user_has_permission_for_instance(user, action, instance) for action in actions)


@dataclass(frozen=True)
class ObjectRule:
    """How a URL pattern's argument names an object, and who may reach it.

    ``check(user, value)`` answers whether the user may reach the object ``value`` names;
    a value that cannot name an object (a malformed id) is simply not reachable. An object
    outside the scope is not found (404), so that its existence does not leak; a rule that
    only asks for a permission refuses as the admin refuses (403, or Wagtail's redirect)."""

    kwarg: str
    check: Callable
    describe: str = ""
    hides_existence: bool = True


def policy_rule(policy, kwarg="pk", lookup="pk", action="view"):
    """The object named by ``kwarg`` (looked up as ``lookup``) must be in ``policy``'s scope.
    A user without the permission at all is refused as the admin refuses; one who has it is
    told that an object outside their scope does not exist."""

    def check(user, value):
        if not policy.user_has_permission(user, action):
            raise PermissionDenied
        try:
            return policy.scope(user, action, policy.base_queryset().filter(**{lookup: value})).exists()
        except (ValueError, TypeError, ValidationError, OverflowError):
            return False

    return ObjectRule(kwarg, check, f"{policy.model._meta.label} in scope for {action!r}")


def permission_rule(kwarg, allowed, describe=""):
    """For arguments that are not scoped objects (a customer id, a template to build from):
    ``allowed(user)`` decides, whatever the value."""
    return ObjectRule(kwarg, lambda user, value: allowed(user), describe, hides_existence=False)


def guard(view, rules):
    @functools.wraps(view)
    def guarded(request, *args, **kwargs):
        for rule in rules:
            if not rule.check(request.user, kwargs.get(rule.kwarg)):
                raise Http404 if rule.hides_existence else PermissionDenied
        return view(request, *args, **kwargs)

    guarded.object_rules = rules
    return guarded


def pattern_arguments(pattern):
    """The named arguments of a URL pattern (path() converters and regex groups alike)."""
    regex = pattern.pattern.regex
    return set(regex.groupindex)


def guard_patterns(patterns, rules, default=None, exempt=()):
    """Wrap every pattern that names an object in the rules for its arguments.

    ``rules`` maps a URL name to a list of ObjectRule; ``default`` applies to the other
    patterns with an argument; ``exempt`` names arguments that do not identify an object
    (an action name, a file kind). A pattern left without a rule raises ImproperlyConfigured."""
    guarded = []
    for pattern in patterns:
        if not isinstance(pattern, URLPattern):
            guarded.append(pattern)
            continue
        arguments = pattern_arguments(pattern) - set(exempt)
        if not arguments:
            guarded.append(pattern)
            continue
        chosen = rules.get(pattern.name, default)
        if chosen is None:
            raise ImproperlyConfigured(f"URL pattern {pattern.name!r} ({pattern.pattern}) names an object but has no "
                                       "access rule: say who may reach it (permissions/base.py)")
        chosen = list(chosen) if isinstance(chosen, (list, tuple)) else [chosen]
        missing = arguments - {rule.kwarg for rule in chosen}
        if missing:
            raise ImproperlyConfigured(f"URL pattern {pattern.name!r}: no access rule for {sorted(missing)}")
        guarded.append(URLPattern(pattern.pattern, guard(pattern.callback, chosen), pattern.default_args,
                                  pattern.name))
    return guarded
