"""`POST /utils/generate-dag`: a workflow definition as `{nodes, edges}` to draw it.

Nodes: `start`, one per step (id = its step path: `0`, `1.onFalse`, `2.body.0`), `end`, and
`condition_not_met` when the definition has a condition. Each step node carries `type`,
`label`, `outputKey` and `pause: true` for the steps that wait for a human (approval, form,
an agent that may escalate). Edges: `next` between consecutive steps, `condition`/`else`
around the definition's condition, `filter` (true) and `onFalse`/`skip` (false) around a
filtered step, and `body` / `loop` edges into and back out of a foreach body.
"""

from __future__ import annotations

from typing import Any

PAUSING = ("PbotApproval", "PbotForm")


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []

    def node(self, node_id: str, kind: str, label: str, **extra: Any) -> str:
        self.nodes.append({"id": node_id, "type": kind, "label": label, **extra})
        return node_id

    def edge(self, source: str, target: str, kind: str = "next") -> None:
        self.edges.append({"source": source, "target": target, "type": kind})


def _label(step: dict[str, Any]) -> str:
    props = step.get("properties") or {}
    if step.get("type") == "loop":
        return f"loop ({props.get('mode')})"
    return str(step.get("type"))


def _step(g: _Graph, step: dict[str, Any], node_id: str) -> tuple[str, list[tuple[str, str]]]:
    """Add a step; returns its entry node and its exits `(node, edge kind)`."""
    props = step.get("properties") or {}
    kind = step.get("type")
    pause = kind in PAUSING or (
        kind == "loop"
        and props.get("mode") == "react"
        and isinstance(props.get("on_stuck"), dict)
        and props["on_stuck"].get("action") == "escalate"
    )
    g.node(
        node_id,
        "step",
        _label(step),
        step_type=kind,
        outputKey=step.get("outputKey") or props.get("result_key"),
        pause=pause,
    )
    exits: list[tuple[str, str]] = [(node_id, "next")]
    if kind == "loop" and props.get("mode") == "foreach":
        previous: tuple[str, str] = (node_id, "body")
        body = props.get("actions_to_execute") or []
        last: list[tuple[str, str]] = []
        for i, inner in enumerate(body):
            entry, inner_exits = _step(g, inner, f"{node_id}.body.{i}")
            for source, edge_kind in last or [previous]:
                g.edge(source, entry, edge_kind)
            last = inner_exits
        for source, _ in last:
            g.edge(source, node_id, "loop")
    entry = node_id
    if step.get("filter") is not None:
        gate = g.node(
            f"{node_id}.filter", "filter", "filter", condition=step["filter"].get("condition")
        )
        g.edge(gate, node_id, "filter")
        entry = gate
        if step.get("onFalse") is not None:
            alt_entry, alt_exits = _step(g, step["onFalse"], f"{node_id}.onFalse")
            g.edge(gate, alt_entry, "onFalse")
            exits += alt_exits
        else:
            exits.append((gate, "skip"))
    return entry, exits


def generate(definition: dict[str, Any]) -> dict[str, Any]:
    """The graph of a (validated) definition."""
    g = _Graph()
    g.node("start", "start", "start")
    exits: list[tuple[str, str]] = [("start", "next")]
    if definition.get("condition") is not None:
        g.node("condition", "condition", "condition", condition=definition["condition"])
        g.edge("start", "condition")
        g.node("condition_not_met", "end", "condition_not_met")
        g.edge("condition", "condition_not_met", "else")
        exits = [("condition", "condition")]
    for i, step in enumerate(definition.get("actions") or []):
        entry, step_exits = _step(g, step, str(i))
        for source, kind in exits:
            g.edge(source, entry, kind)
        exits = step_exits
    g.node("end", "end", "end")
    for source, kind in exits:
        g.edge(source, "end", kind)
    return {"nodes": g.nodes, "edges": g.edges}
