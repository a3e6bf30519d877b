from __future__ import annotations

import pytest

from nlu import detect_language

from .samples import EDGE_CASES


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Is it true that the water in our district is poisoned?", "en"),
        ("habari, nataka kujiunga", "sw"),
        ("Je, ni kweli kwamba maji ya bomba yana sumu?", "sw"),
        ("धन्यवाद", "hi"),
        ("क्या यह सच है कि पानी में ज़हर है?", "hi"),
        ("kya ye sach hai ki paani mein zeher hai?", "hi"),
        ("mujhe hindi mein batao", "hi"),
        ("هل صحيح أن الماء مسموم؟", "ar"),
        ("¿Es verdad que el agua está envenenada?", "es"),
        ("Apakah benar air di kampung kami beracun?", "id"),
        ("Est-ce vrai que l'eau du robinet est empoisonnée ?", "fr"),
        ("É verdade que a água da torneira está envenenada?", "pt"),
        ("gracias", "es"),
        ("habari", "sw"),
    ],
)
def test_detects_the_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["ok", "👍", "", "12345", "x" * 10_000])
def test_is_unsure_rather_than_wrong(text: str) -> None:
    assert detect_language(text) is None


@pytest.mark.parametrize("text", list(EDGE_CASES.values()), ids=list(EDGE_CASES))
def test_never_raises(text: str) -> None:
    detect_language(text)
