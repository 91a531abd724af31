"""The merge and rendering engine. No Django views here: callers pass data in, get text out."""
