"""Panels products add to the operator console (core imports no product: a product registers
its panel at import, the console renders what is registered).

A panel is a title, column names and a function returning the latest rows (plain values, shown
as text; never secrets or PHI: counts and types only)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Panel:
    id: str
    title: str
    columns: tuple[str, ...]
    rows: Callable[[int], Sequence[Sequence[Any]]]  # (limit) -> rows, newest first


_panels: dict[str, Panel] = {}


def register(panel: Panel) -> None:
    _panels[panel.id] = panel


def panels() -> list[Panel]:
    return sorted(_panels.values(), key=lambda p: p.id)
