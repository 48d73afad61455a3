"""handlers.hasp_ai."""
