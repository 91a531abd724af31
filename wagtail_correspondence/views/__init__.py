"""Admin views beyond Wagtail's generic ones, split by feature."""
