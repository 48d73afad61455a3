"""Loader for the labelled SYNTHETIC PHI corpus ``corpus.jsonl`` (all names, numbers and places
are made up).

One JSON object per line: ``{"set": ..., "text": ..., "phi": [{"type", "value", "start",
"end"}, ...]}``. ``phi`` is empty for negatives: look-alikes that must not be flagged (dosages,
lab values, ICD-10 codes, years alone, ages under 90, eponyms...). ``set`` is ``dev`` (written
first and used to develop the recognizers), ``heldout1`` to ``heldout4`` (written later, the
last two by someone who had not seen the recognizers, and scored blind before being merged;
their first-run figures are in benchmarks/phi_recall.py).

Conventions: a city, town or county is LOCATION (a state or a country alone is not PHI under
Safe Harbor and is never labelled); AGE_OVER_89 labels the number only ("92"-year-old); a birth
year implying an age over 89 is labelled DATE.

`parse` turns the inline markup ``"Seen by Dr. [[PERSON:Anil Raman]]"`` into a `Sample`, which
is handy for writing new lines.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

CORPUS_PATH = Path(__file__).with_name("corpus.jsonl")


@dataclass(frozen=True)
class Span:
    """One labelled PHI span."""

    start: int
    end: int
    entity_type: str


@dataclass(frozen=True)
class Sample:
    """One corpus sentence and its labelled spans (empty for negatives)."""

    text: str
    spans: tuple[Span, ...]
    set: str = "dev"


def load(path: Path = CORPUS_PATH) -> list[Sample]:
    """All samples, checking that every labelled offset matches its value."""
    samples = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        text = row["text"]
        spans = []
        for phi in row["phi"]:
            if text[phi["start"] : phi["end"]] != phi["value"]:
                raise ValueError(f"{path.name}:{n}: offsets do not match {phi['value']!r}")
            spans.append(Span(phi["start"], phi["end"], phi["type"]))
        samples.append(Sample(text, tuple(spans), row.get("set", "dev")))
    return samples


_MARK = re.compile(r"\[\[([A-Z_0-9]+):(.+?)\]\]")


def parse(marked: str, set_name: str = "dev") -> Sample:
    """A `Sample` from inline markup: ``[[TYPE:value]]`` around each PHI value."""
    out: list[str] = []
    spans: list[Span] = []
    pos = length = 0
    for m in _MARK.finditer(marked):
        before = marked[pos : m.start()]
        out.append(before)
        length += len(before)
        spans.append(Span(length, length + len(m[2]), m[1]))
        out.append(m[2])
        length += len(m[2])
        pos = m.end()
    out.append(marked[pos:])
    return Sample("".join(out), tuple(spans), set_name)
