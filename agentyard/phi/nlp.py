"""A spaCy NLP engine for Presidio that runs only the named-entity recognizer.

``en_core_web_sm`` has six components (tok2vec, tagger, parser, attribute_ruler, lemmatizer,
ner); the guard uses the NER entities (its ``ner`` has its own internal tok2vec, so the shared
``tok2vec`` feeds only tagger and parser) and, for Presidio's context enhancer, one "lemma"
per token. Loading the model without the other five components keeps the same entities at
about a third of the time. The lemmas come from `ContextLemmas`: the lowercase token, folded
onto a recognizer context word when it is an inflection of one ("records" -> "record",
"called" -> "call"), which is all the enhancer compares lemmas with.

Matrix products: thinc multiplies with ``blis``, whose wheel falls back to its slow generic
kernel on CPUs it does not recognise (this machine's AMD EPYC: 1.5 ms for the NER's
207x288x288 product, 0.4 ms with numpy's OpenBLAS). When numpy's bundled OpenBLAS can be
limited to one thread (a scanner is one core's worth of work), the model is loaded with
numpy's products instead: the same entities, about a quarter less CPU per 1 KB.

spaCy is pinned at 3.8.7 (pyproject.toml): the wheels of 3.8.8 and later were built so that
every accessor of the parser's state (``StateC::B_`` and its kin, called several times per
token and action) takes and releases the GIL, which cost about 40 % of the NER's time in
``perf`` (``take_gil``, ``pthread_mutex_lock``, ``PyGILState_*``). 3.8.7 with the same model
gives the same entities (every finding of the corpus, the blind sets and the gateway prompts
compared) at about 9 ms instead of 14 ms per 1 KB.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import numpy
import spacy
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from spacy.tokens import Doc
from thinc.api import Model, use_ops
from threadpoolctl import threadpool_info, threadpool_limits

# Distinct token texts whose lemma, stop-word and punctuation answers are remembered.
CACHED_WORDS = 1 << 14  # a clinical vocabulary; a few MB at most per scanner

# Components the guard does not use (the NER has its own tok2vec).
UNUSED_COMPONENTS = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer")

# Inflection endings tried, longest first: (ending, what replaces it).
_ENDINGS = (
    ("ies", "y"),
    ("ing", ""),
    ("ing", "e"),
    ("es", ""),
    ("ed", ""),
    ("ed", "e"),
    ("'s", ""),
    ("’s", ""),
    ("s", ""),
    ("d", ""),
)


def single_thread_openblas() -> bool:
    """Limit the OpenBLAS numpy loaded to one thread in this process (threadpoolctl).

    False when numpy uses no OpenBLAS: it may then use any BLAS, with any number of threads, so
    the caller keeps blis.
    """
    import numpy  # noqa: F401 - loads the BLAS threadpoolctl looks for

    threadpool_limits(limits=1, user_api="blas")  # for the process, not a block
    return any(
        info["internal_api"] == "openblas" and info["num_threads"] == 1
        for info in threadpool_info()
    )


# The NER's layers whose weights only numpy multiplies (``X @ W.T``); the parser's ``upper``
# layer is read by spaCy's C loop as a row-major array and keeps its layout.
_NUMPY_MULTIPLIED = ("tok2vec", "lower")


def transpose_weights(ner: Model) -> None:
    """Store the weights of the NER's numpy-multiplied layers transposed in memory.

    thinc computes ``X @ W.T`` with ``W`` row-major, so OpenBLAS repacks ``W`` on every call:
    for the 20-200 rows of a prompt that is a large share of each product. The same values
    laid out so that ``W.T`` (of the layer's 2-D view) is row-major are multiplied without that
    (the NER per 1 KB about 4 % less CPU, per short turn about 15 %; the same entities).
    """
    for ref in _NUMPY_MULTIPLIED:
        for layer in ner.get_ref(ref).walk():
            if layer.has_param("W"):
                weights = numpy.asarray(layer.get_param("W"))
                rows = numpy.ascontiguousarray(weights.reshape(-1, weights.shape[-1]).T)
                transposed: Any = rows.T.reshape(weights.shape)  # its 2-D reshape stays a view
                layer.set_param("W", transposed)


class ContextLemmas:
    """Token -> lemma for context matching: an inflected context word -> that word, else the
    lowercase token. Answers are remembered (`CACHED_WORDS`, least recently used dropped)."""

    def __init__(self, context_words: Iterable[str]) -> None:
        self.vocabulary = frozenset(w.lower() for w in context_words)
        self._cached = lru_cache(maxsize=CACHED_WORDS)(self._lemma)

    def __call__(self, token: str) -> str:
        return self._cached(token)

    def _lemma(self, token: str) -> str:
        word = token.lower()
        if word in self.vocabulary:
            return word
        for ending, replacement in _ENDINGS:
            if word.endswith(ending) and len(word) > len(ending) + 1:
                base = word[: -len(ending)] + replacement
                if base in self.vocabulary:
                    return base
        return word


class NerOnlySpacyEngine(SpacyNlpEngine):
    """Presidio's spaCy engine with only the NER component loaded and cheap context lemmas."""

    def __init__(
        self,
        model_name: str,
        ner_model_configuration: NerModelConfiguration,
        lemmas: ContextLemmas,
    ) -> None:
        super().__init__(
            models=[{"lang_code": "en", "model_name": model_name}],
            ner_model_configuration=ner_model_configuration,
        )
        self.lemmas = lemmas
        self._flags = lru_cache(maxsize=CACHED_WORDS)(self._vocab_flags)

    def load(self) -> None:
        """Load the model without the components the guard does not use, multiplying with
        numpy's OpenBLAS when it runs on one thread (see the module doc; the NER's weights are
        then stored transposed, `transpose_weights`), else with blis."""
        # presidio types `nlp` by its None default; its own load() also sets a dict
        self.nlp: dict[str, Any] = {}  # type: ignore[assignment]
        openblas = single_thread_openblas()
        with use_ops("numpy", use_blis=not openblas):
            for model in self.models:
                nlp = spacy.load(model["model_name"], exclude=list(UNUSED_COMPONENTS))
                if openblas:
                    transpose_weights(nlp.get_pipe("ner").model)  # type: ignore[attr-defined]
                self.nlp[model["lang_code"]] = nlp

    def is_stopword(self, word: str, language: str) -> bool:
        """spaCy's answer, remembered per word (Presidio asks it for every token)."""
        return self._flags(word, language)[0]

    def is_punct(self, word: str, language: str) -> bool:
        """spaCy's answer, remembered per word (Presidio asks it for every token)."""
        return self._flags(word, language)[1]

    def _vocab_flags(self, word: str, language: str) -> tuple[bool, bool]:
        lexeme = self.nlp[language].vocab[word]
        return lexeme.is_stop, lexeme.is_punct

    def artifacts_of(self, texts: list[str], language: str) -> list[ScanArtifacts]:
        """`process_text` of each text, with spaCy run over them as one batch (``nlp.pipe``:
        the NER's products over several texts at once cost about 12 % less CPU per 1 KB text
        than one text at a time; the same entities)."""
        nlp = self.get_nlp(language)
        return [
            self._doc_to_nlp_artifact(doc, language)
            for doc in nlp.pipe(texts, batch_size=max(1, len(texts)))
        ]

    def entity_artifacts(self, text: str, language: str) -> NlpArtifacts:
        """The NER's entities of ``text`` alone: no lemmas or keywords, which only the context
        enhancer reads (the NER half of a split scan, `agentyard.phi.scan`)."""
        doc = self.get_nlp(language)(text)
        entities, scores = self._entities_and_scores(doc)
        return NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=[],
            lemmas=[],
            nlp_engine=self,
            language=language,
            scores=scores,
        )

    def _entities_and_scores(self, doc: Doc) -> tuple[list, list[float]]:
        return self._get_updated_entities(
            self._get_entities(doc), self._get_scores_for_entities(doc)
        )

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> ScanArtifacts:
        entities, scores = self._entities_and_scores(doc)
        starts, ends, lemmas = [], [], []
        for token in doc:  # once: each step of a Doc builds a Token
            start, text = token.idx, token.text
            starts.append(start)
            ends.append(start + len(text))
            lemmas.append(self.lemmas(text))
        return ScanArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=starts,
            token_ends=ends,
            lemmas=lemmas,
            nlp_engine=self,
            language=language,
            scores=scores,
        )


class ScanArtifacts(NlpArtifacts):
    """Presidio's NLP artifacts with each token's end offset (`agentyard.phi.context`)."""

    def __init__(self, *, token_ends: list[int], **artifacts: Any) -> None:
        super().__init__(**artifacts)
        self.token_ends = token_ends
