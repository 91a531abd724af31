"""Which plain models django-reversion versions. Wagtail-revisioned models (fragments,
layouts, dictionaries, template pages) must never be listed here: a reversion revert would
bypass publishing, workflows and locks."""

import reversion


def register_versioned_models():
    from .models import (
        BusinessCalendar,
        Category,
        Correspondence,
        Department,
        RetentionPolicy,
        RoutingRule,
        SlaPolicy,
        TaggedCorrespondence,
    )

    for model, follow in [
        (Correspondence, ("tagged_items",)), (TaggedCorrespondence, ()), (RoutingRule, ()), (SlaPolicy, ()),
        (BusinessCalendar, ()), (Category, ()), (Department, ()), (RetentionPolicy, ()),
    ]:
        if not reversion.is_registered(model):
            reversion.register(model, follow=follow)
