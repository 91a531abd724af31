"""Date formats of the reference site, per language (settings.FORMAT_MODULE_PATH)."""
