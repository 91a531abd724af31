from django.db import models
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node

from .trees import TreeNodeMixin


class Category(TreeNodeMixin, MP_Node):
    """What a register entry is about (complaint › delay, billing › refund...). A tree, so that
    routing rules and SLA policies set on a category apply to everything below it."""

    name = models.CharField(_("name"), max_length=150)
    code = models.SlugField(_("code"), max_length=50, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    node_order_by = ["name"]

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self):
        return self.name
