class TreeNodeMixin:
    """What departments and categories (treebeard MP_Node trees) share for display and for
    walking up the tree (escalation, policies and rules set on an ancestor)."""

    @property
    def indented_name(self):
        return "— " * (self.depth - 1) + self.name

    def lineage(self):
        """This node and its ancestors, nearest first."""
        return [self] + list(reversed(self.get_ancestors()))
