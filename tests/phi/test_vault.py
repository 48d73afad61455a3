"""Placeholders, whole-text and streamed re-identification (no engine needed)."""

from __future__ import annotations

import itertools
import random

from agentyard.phi.vault import Vault


def _vault() -> Vault:
    v = Vault()
    v.placeholder_for("PERSON", "Maria Delgado")
    v.placeholder_for("US_SSN", "412-67-3390")
    v.placeholder_for("PERSON", "Keisha Brown")
    v.placeholder_for("MEDICAL_RECORD_NUMBER", "00482913")
    return v


def test_numbering_per_type_in_order_of_first_appearance():
    v = _vault()
    assert v.items() == [
        ("[PERSON_1]", "Maria Delgado"),
        ("[US_SSN_1]", "412-67-3390"),
        ("[PERSON_2]", "Keisha Brown"),
        ("[MEDICAL_RECORD_NUMBER_1]", "00482913"),
    ]


def test_same_value_same_placeholder_even_if_found_as_another_type():
    v = _vault()
    assert v.placeholder_for("PERSON", "Maria Delgado") == "[PERSON_1]"
    assert v.placeholder_for("LOCATION", "Maria Delgado") == "[PERSON_1]"
    assert v.placeholder_for("PERSON", "Ana Ruiz") == "[PERSON_3]"


def test_reserved_placeholders_are_skipped():
    v = Vault(reserved={"[PERSON_1]", "[PERSON_3]"})
    assert [v.placeholder_for("PERSON", n) for n in ("A", "B", "C")] == [
        "[PERSON_2]",
        "[PERSON_4]",
        "[PERSON_5]",
    ]
    # the caller's literal "[PERSON_1]" is not restored to anything
    assert v.restore("[PERSON_1] and [PERSON_2]") == "[PERSON_1] and A"


def test_restore_whole_text_and_unknown_placeholders_stay():
    v = _vault()
    reply = "[PERSON_1] (SSN [US_SSN_1]) saw [PERSON_2]; [PERSON_9] and [DATE_1] are unknown."
    assert v.restore(reply) == (
        "Maria Delgado (SSN 412-67-3390) saw Keisha Brown; [PERSON_9] and [DATE_1] are unknown."
    )
    assert v.restore("no placeholders [here]") == "no placeholders [here]"
    assert Vault().restore("[PERSON_1]") == "[PERSON_1]"


REPLY = (
    "Summary for [PERSON_1]: MRN [MEDICAL_RECORD_NUMBER_1], SSN [US_SSN_1]. "
    "[[PERSON_2]] visited; [PERSON_9] is invented, [PERSON_ is cut, a [bracket] stays."
)


def _streamed(v: Vault, chunks: list[str]) -> str:
    r = v.restorer()
    return "".join(r.feed(c) for c in chunks) + r.flush()


def test_stream_split_at_every_position():
    v = _vault()
    expected = v.restore(REPLY)
    assert "Maria Delgado" in expected and "[[PERSON_2]]" not in expected
    for i in range(len(REPLY) + 1):
        assert _streamed(v, [REPLY[:i], REPLY[i:]]) == expected, i


def test_stream_split_at_every_pair_of_positions_in_a_placeholder_region():
    v = _vault()
    text = "x[PERSON_1][US_SSN_1]y"
    expected = v.restore(text)
    for i, j in itertools.combinations(range(len(text) + 1), 2):
        assert _streamed(v, [text[:i], text[i:j], text[j:]]) == expected, (i, j)


def test_stream_character_by_character_and_random_chunks():
    v = _vault()
    expected = v.restore(REPLY)
    assert _streamed(v, list(REPLY)) == expected
    rng = random.Random(7)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(REPLY)), rng.randint(1, 12)))
        chunks = [REPLY[a:b] for a, b in zip([0, *cuts], [*cuts, len(REPLY)], strict=True)]
        assert _streamed(v, chunks) == expected


def test_stream_emits_everything_that_cannot_start_a_placeholder():
    r = _vault().restorer()
    assert r.feed("Hello [PER") == "Hello "
    assert r.feed("SON_1] said") == "Maria Delgado said"
    assert r.feed(" [x") == " [x"  # "[x" cannot become a placeholder
    assert r.feed(" [PERSON_9") == " [PERSON_9"  # no issued placeholder starts so
    assert r.feed("] [US_SSN") == "] "
    assert r.flush() == "[US_SSN"  # an unfinished placeholder is emitted as is
