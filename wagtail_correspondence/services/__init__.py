"""Domain operations shared by admin views, the API and management commands."""
