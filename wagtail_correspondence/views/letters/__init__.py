"""Admin views of the letter builder, split by step."""
