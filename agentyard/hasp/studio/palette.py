"""The command palette: ranked, permission-filtered search over what a member can see, and
commands run through the same domain functions as their own routes.

A registry, so the palette imports none of the modules it searches:
- `add_source(kind, search)`: `search(member)` yields the `Candidate`s of that kind the member
  may see (the source applies its own role rules);
- `add_command(Command(...))`: a command is declared by name with a title, its least org role
  and `run(member, args) -> dict`; a command without `run` is listed but answers 409
  `COMMAND_UNAVAILABLE` (its domain has not landed yet: it is `provide`d by that module later).

Ranking: rapidfuzz `WRatio` of the query against each candidate's title (full weight) and its
other words (0.9), ties broken by kind order then title; hits under `MIN_SCORE` are dropped.
An empty query lists the commands the member may run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, utils

from agentyard.core.errors import ApiError
from agentyard.hasp.studio import roles
from agentyard.hasp.studio.member import Member

MIN_SCORE = 60.0
KIND_ORDER = (
    "command", "project", "app", "workflow", "entity", "record", "integration", "pattern"
)  # fmt: skip


@dataclass(frozen=True)
class Candidate:
    """Something the palette can show: `kind`, `id`, `title`, more searchable `words`."""

    kind: str
    id: str
    title: str
    subtitle: str | None = None
    words: str = ""
    project_id: str | None = None


@dataclass
class Command:
    """A palette command; `run(member, args)` enforces the same rules as its own route."""

    name: str
    title: str
    description: str
    least_role: str = "viewer"
    scope: str = "org"  # "project": the least role is a project role, checked by `run`
    args: dict[str, str] = field(default_factory=dict)  # arg name → description
    run: Callable[[Member, dict[str, Any]], dict[str, Any]] | None = None


Search = Callable[[Member], Iterable[Candidate]]

_sources: dict[str, Search] = {}
_commands: dict[str, Command] = {}


def add_source(kind: str, search: Search) -> None:
    _sources[kind] = search


def add_command(command: Command) -> None:
    _commands[command.name] = command


def provide(name: str, run: Callable[[Member, dict[str, Any]], dict[str, Any]]) -> None:
    """Give the declared command `name` its implementation."""
    _commands[name].run = run


def commands() -> list[Command]:
    return list(_commands.values())


def _command_candidates(member: Member) -> list[Candidate]:
    return [
        Candidate(
            "command",
            c.name,
            c.title,
            c.description if c.run else f"{c.description} (not available yet)",
            words=f"{c.name} {c.description}",
        )  # fmt: skip
        for c in _commands.values()
        if c.scope == "project" or roles.at_least(member.role, c.least_role)
    ]


def _score(query: str, candidate: Candidate) -> float:
    title = fuzz.WRatio(query, candidate.title, processor=utils.default_process)
    words = (
        fuzz.WRatio(query, candidate.words, processor=utils.default_process) * 0.9
        if candidate.words
        else 0.0
    )
    return round(max(title, words), 2)


def hit(candidate: Candidate, score: float) -> dict[str, Any]:
    return {
        "kind": candidate.kind,
        "id": candidate.id,
        "title": candidate.title,
        "subtitle": candidate.subtitle,
        "project_id": candidate.project_id,
        "score": score,
    }


def query(member: Member, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """The best `limit` hits for `text` among what the member may see (org viewer)."""
    roles.require(member, "viewer")
    text = text.strip()
    if not text:
        return [hit(c, 100.0) for c in _command_candidates(member)][:limit]
    candidates: list[Candidate] = _command_candidates(member)
    for search in _sources.values():
        candidates.extend(search(member))
    scored = [(c, _score(text, c)) for c in candidates]
    kept = [(c, s) for c, s in scored if s >= MIN_SCORE]
    order = {k: i for i, k in enumerate(KIND_ORDER)}
    kept.sort(key=lambda cs: (-cs[1], order.get(cs[0].kind, len(order)), cs[0].title))
    return [hit(c, s) for c, s in kept[:limit]]


def execute(member: Member, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run command `name`: 404 COMMAND_NOT_FOUND for an unknown one, 409 COMMAND_UNAVAILABLE
    for one whose domain has not landed; otherwise whatever its route would answer."""
    command = _commands.get(name)
    if command is None:
        raise ApiError(
            404,
            "COMMAND_NOT_FOUND",
            f"No palette command {name!r} (known: {', '.join(sorted(_commands))})",
        )
    if command.run is None:
        raise ApiError(
            409,
            "COMMAND_UNAVAILABLE",
            f"The command {name!r} is not available on this server yet",
            details={"command": name},
        )
    return {"command": name, "result": command.run(member, args)}
