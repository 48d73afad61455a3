"""handlers.hyphen."""
