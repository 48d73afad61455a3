"""handlers.harnesslayer."""
