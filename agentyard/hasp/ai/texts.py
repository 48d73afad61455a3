"""Every text an Anthropic-format request carries, found by path, so it can be scanned and replaced.

Texts: the system prompt (string or text blocks), and in every message the string content or
each block's text: `text`, the string values inside `tool_use.input` (at any depth),
`tool_result.content` (string or text blocks), a `document`'s plain-text source, title and
context, and the `thinking` text of a thinking block sent back from an earlier turn
(`redacted_thinking` data is encrypted, not text). Tool names and descriptions are not here:
they are checked separately (PHI there is refused, never redacted).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

Path = tuple[str | int, ...]


def _strings(value: Any, path: Path) -> Iterator[Path]:
    """Paths of every string inside a JSON value (dict values and list items)."""
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*path, i))


def _block(block: dict[str, Any], path: Path) -> Iterator[Path]:
    kind = block.get("type")
    if kind == "text":
        yield (*path, "text")
    elif kind == "thinking":
        if isinstance(block.get("thinking"), str):
            yield (*path, "thinking")
    elif kind == "tool_use":
        yield from _strings(block.get("input", {}), (*path, "input"))
    elif kind == "tool_result":
        content = block.get("content")
        if isinstance(content, str):
            yield (*path, "content")
        elif isinstance(content, list):
            for i, inner in enumerate(content):
                if isinstance(inner, dict) and inner.get("type") == "text":
                    yield (*path, "content", i, "text")
    elif kind == "document":
        source = block.get("source") or {}
        if source.get("type") == "text" and isinstance(source.get("data"), str):
            yield (*path, "source", "data")
        for field in ("title", "context"):
            if isinstance(block.get(field), str):
                yield (*path, field)


def paths(request: dict[str, Any]) -> list[Path]:
    """The paths of every scannable text of `request`, in document order."""
    found: list[Path] = []
    system = request.get("system")
    if isinstance(system, str):
        found.append(("system",))
    elif isinstance(system, list):
        found += [("system", i, "text") for i, b in enumerate(system) if b.get("type") == "text"]
    for m, message in enumerate(request.get("messages") or []):
        content = message.get("content")
        if isinstance(content, str):
            found.append(("messages", m, "content"))
        elif isinstance(content, list):
            for b, block in enumerate(content):
                if isinstance(block, dict):
                    found += _block(block, ("messages", m, "content", b))
    return found


def get(document: Any, path: Path) -> Any:
    for step in path:
        document = document[step]
    return document


def replaced(request: dict[str, Any], where: list[Path], texts: list[str]) -> dict[str, Any]:
    """A deep copy of `request` with the text at each path of `where` replaced."""
    out = copy.deepcopy(request)
    for path, text in zip(where, texts, strict=True):
        parent = get(out, path[:-1])
        parent[path[-1]] = text
    return out
