"""``{% load correspondence_format %}``: ``{{ entry.due_at|when }}``, ``{{ letter.generated_at|day }}``.

The one way the product's templates show dates (wagtail_correspondence.dates); an empty
value gives "", so ``|when|default:"—"`` works.
"""

from django import template

from .. import dates

register = template.Library()

register.filter("when", dates.when, is_safe=True)
register.filter("day", dates.day, is_safe=True)
