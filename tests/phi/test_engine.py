"""The cheaper engine set-up finds exactly what the reference set-up finds."""

from __future__ import annotations

import spacy
from thinc.api import use_ops

from agentyard.phi.engine import SPACY_MODEL
from agentyard.phi.nlp import UNUSED_COMPONENTS, single_thread_openblas
from tests.phi import corpus


def _entities(doc) -> list[tuple[int, int, str]]:
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents]


def _texts() -> list[str]:
    """Corpus sentences, one by one and as ~1-2 KB notes of twelve."""
    lines = [s.text for s in corpus.load()]
    return lines + ["\n".join(lines[i : i + 12]) for i in range(0, len(lines), 12)]


def test_ner_multiplies_with_single_threaded_openblas_and_finds_what_blis_finds(guard):
    assert single_thread_openblas()  # numpy's wheels bundle OpenBLAS
    nlp = guard.analyzer.nlp_engine.get_nlp("en")
    assert not nlp.get_pipe("ner").model.ops.use_blis
    with use_ops("numpy", use_blis=True):
        reference = spacy.load(SPACY_MODEL, exclude=list(UNUSED_COMPONENTS))
    assert reference.get_pipe("ner").model.ops.use_blis
    texts = _texts()
    found = [_entities(d) for d in nlp.pipe(texts)]
    assert found == [_entities(d) for d in reference.pipe(texts)]
    assert sum(map(len, found)) > 500  # the comparison covers many entities
