"""Recall / precision of the guard on a labelled corpus (used by the tests and the benchmark).

A labelled span is *found* when a finding of the same group (Safe Harbor category, or entity
type) overlaps it; a finding is a *true positive* when it overlaps a labelled span of its
group, else a false positive (every finding on a negative sentence is one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from agentyard.phi.categories import ENTITY_CATEGORY, SAFE_HARBOR
from agentyard.phi.findings import Finding


class LabelledSpan(Protocol):
    start: int
    end: int
    entity_type: str


class LabelledText(Protocol):
    text: str
    spans: Sequence[LabelledSpan]


@dataclass
class Tally:
    """Counts for one group."""

    labels: int = 0
    found: int = 0
    findings: int = 0
    correct: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.labels if self.labels else float("nan")

    @property
    def precision(self) -> float:
        return self.correct / self.findings if self.findings else float("nan")


@dataclass
class Report:
    """Per-group tallies plus the misses and false positives (text, span, group)."""

    tallies: dict[str, Tally] = field(default_factory=dict)
    misses: list[tuple[str, str, str]] = field(default_factory=list)
    false_positives: list[tuple[str, str, str]] = field(default_factory=list)

    def tally(self, group: str) -> Tally:
        return self.tallies.setdefault(group, Tally())

    @property
    def overall(self) -> Tally:
        total = Tally()
        for t in self.tallies.values():
            total.labels += t.labels
            total.found += t.found
            total.findings += t.findings
            total.correct += t.correct
        return total


def by_category(entity_type: str) -> str:
    """Group key: the Safe Harbor category code."""
    return ENTITY_CATEGORY[entity_type]


def by_entity(entity_type: str) -> str:
    """Group key: the entity type itself."""
    return entity_type


def _overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    return a_start < b_end and b_start < a_end


def evaluate(
    samples: Iterable[LabelledText],
    findings_of: Callable[[str], list[Finding]],
    group: Callable[[str], str] = by_category,
) -> Report:
    """Score ``findings_of(text)`` against the labels of every sample."""
    report = Report()
    for sample in samples:
        text = sample.text
        findings = findings_of(text)
        for span in sample.spans:
            g = group(span.entity_type)
            tally = report.tally(g)
            tally.labels += 1
            if any(
                group(f.entity_type) == g and _overlap(f.start, f.end, span.start, span.end)
                for f in findings
            ):
                tally.found += 1
            else:
                report.misses.append((text, text[span.start : span.end], span.entity_type))
        for f in findings:
            g = group(f.entity_type)
            tally = report.tally(g)
            tally.findings += 1
            if any(
                group(s.entity_type) == g and _overlap(f.start, f.end, s.start, s.end)
                for s in sample.spans
            ):
                tally.correct += 1
            else:
                report.false_positives.append((text, text[f.start : f.end], f.entity_type))
    return report


def _pct(x: float) -> str:
    return "  n/a" if x != x else f"{x:5.3f}"


def format_table(report: Report, grouped_by_category: bool = True) -> str:
    """A plain-text table: group, labels, found, recall, findings, precision."""
    head = f"{'group':<44} {'labels':>6} {'found':>6} {'recall':>6} {'finds':>6} {'prec':>6}"
    lines = [head, "-" * len(head)]
    for key in sorted(report.tallies):
        t = report.tallies[key]
        name = f"{key} {SAFE_HARBOR[key].name}"[:44] if grouped_by_category else key
        lines.append(
            f"{name:<44} {t.labels:>6} {t.found:>6} {_pct(t.recall):>6} "
            f"{t.findings:>6} {_pct(t.precision):>6}"
        )
    o = report.overall
    lines.append("-" * len(head))
    lines.append(
        f"{'all':<44} {o.labels:>6} {o.found:>6} {_pct(o.recall):>6} "
        f"{o.findings:>6} {_pct(o.precision):>6}"
    )
    return "\n".join(lines)
