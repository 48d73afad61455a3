"""Thin operation handlers, one package per surface, one module per resource."""
