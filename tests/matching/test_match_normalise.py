from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from matching.normalise import canonical_url, clean_text, extract_urls, normalise_text


def test_forward_boilerplate_signature_handles_and_emoji_are_removed() -> None:
    raw = (
        "RT @someone: Forwarded as received!!!! Drinking HOT water 😱😱😱 kills the virus. "
        "Forward to all your groups https://t.co/abc — Paul (@paul) February 25, 2016"
    )
    assert normalise_text(raw) == "drinking hot water kills the virus"


def test_clean_text_keeps_case_and_html_is_stripped() -> None:
    assert clean_text("<p>Bill Gates &amp; <b>vaccines</b></p>") == "Bill Gates & vaccines"


def test_nfkc_and_casefold() -> None:
    assert normalise_text("ＳＴＲＡßE ﬁne") == "strasse fine"


def test_repeated_punctuation_collapses() -> None:
    assert normalise_text("is it true??!! yes...") == "is it true? yes"


def test_urls_are_extracted_and_canonical() -> None:
    text = "see https://www.Snopes.com/fact-check/5g-covid/?utm_source=wa#x and www.bbc.co.uk/news"
    assert extract_urls(text) == ["snopes.com/fact-check/5g-covid", "bbc.co.uk/news"]
    assert (
        canonical_url("http://m.snopes.com/fact-check/5g-covid/amp/")
        == "snopes.com/fact-check/5g-covid"
    )
    assert canonical_url("not a url") == ""


def test_emoji_only_and_empty() -> None:
    assert normalise_text("🙏🙏🏽👍") == ""
    assert normalise_text("") == ""


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalise_never_crashes_and_is_idempotent(text: str) -> None:
    once = normalise_text(text)
    assert normalise_text(once) == once
    cleaned = clean_text(text)
    assert clean_text(cleaned) == cleaned


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(list("/:.?=&#@ wh"))))
def test_url_functions_never_crash(text: str) -> None:
    for url in extract_urls(text):
        assert canonical_url(url) == url
    canonical_url(text)


def test_folding_cannot_uncover_an_entity_start() -> None:
    """'&ß' folds to '&ss', which a second pass would read as the start of an entity."""
    for text in ("&ß", "x &ß y", "&amp;ß"):
        once = normalise_text(text)
        assert normalise_text(once) == once == once.strip()
