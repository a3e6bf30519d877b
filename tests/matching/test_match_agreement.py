from __future__ import annotations

from matching.agreement import agree, contrast, facts, numbers, restates
from matching.datasets import Target
from matching.dedup import dedup_key
from matching.normalise import clean_text, normalise_text
from matching.twins import twin_groups


def _key(text: str) -> str:
    return dedup_key(normalise_text(text))


CLAIM = "The government is giving 5,000 shillings to everyone who registers on this link."


def test_numbers_and_polarity() -> None:
    assert numbers("5,000 shillings from 20.00 tonight") == {"5000", "20"}
    assert agree("vaccines cause autism", "vaccines do cause autism")
    assert not agree("vaccines cause autism", "vaccines do not cause autism")
    assert not agree(_key(CLAIM), _key(CLAIM.replace("5,000", "50,000")))
    assert facts("Schools in Nairobi close on Monday").names == {"nairobi", "monday"}


def test_a_forward_with_noise_and_a_typo_restates_the_claim() -> None:
    forward = (
        "Forwarded as received: the GOVERMENT is giving 5,000 shillings to everyone who "
        "registers on this link!!! share before they delete it 🙏"
    )
    assert restates(_key(forward), _key(CLAIM))


def test_a_different_claim_of_the_same_topic_does_not() -> None:
    for other in (
        CLAIM.replace("5,000", "50,000"),
        "The government is NOT giving 5,000 shillings to everyone who registers on this link.",
        "The government is giving 5,000 shillings to teachers.",
        "5,000 shillings",  # too short to say which claim
    ):
        assert not restates(_key(other), _key(CLAIM)), other


def test_twins_share_a_url_or_their_words_but_not_a_name() -> None:
    targets = [
        Target(
            "a", "Walmart is offering a free $50 coupon to social media users.", None, None, "en"
        ),
        Target(
            "b", "Kroger is offering a free $50 coupon to social media users.", None, None, "en"
        ),
        Target(
            "c", "Walmart is offering a free $50 coupon to social media users!", None, None, "en"
        ),
        Target("d", "Another claim entirely.", None, "https://fc.example/x?utm_source=a", "en"),
        Target("e", "A re-check of that claim.", None, "https://fc.example/x", "en"),
    ]
    groups = twin_groups(targets)
    assert groups["a"] == {"a", "c"} and groups["b"] == {"b"}
    assert groups["d"] == {"d", "e"}


def test_twins_share_their_stemmed_words_but_not_a_name_a_number_or_a_letter() -> None:
    def target(tid: str, claim: str) -> Target:
        return Target(tid, claim, None, None, "en")

    targets = [
        target("a", "Photograph shows the tsunami that struck Indian Ocean shorelines in 2004."),
        target("b", "Photographs show the tsunami that struck Indian Ocean shorelines in 2004."),
        target("c", "Photographs show the tsunami that struck Indian Ocean shorelines in 2011."),
        target("d", "Restroom hand blowers spread disease by blowing germs and bacteria around."),
        target("e", "Restroom hand dryers spread disease by blowing germs and bacteria around."),
        target("f", "Hotel hand dryers spread disease by blowing germs and viruses around."),
        target("g", "Beagle.Q (aka Bagle.Q) spreads by e-mail attachment."),
        target("h", "Beagle (aka Bagle) spreads by e-mail attachment."),
        # the pool writes these in lower case: common words, not names, at a sentence's start
        target("i", "A hotel sign warns about q fever, in photographs and one photograph."),
        target("j", "Fact-checking the third night of the 2020 Democratic National Convention"),
        target("k", "Fact-checking the fourth night of the 2020 Democratic National Convention"),
        target("l", "राहुल गांधी की रैली के लिए पुलिस ने एम्बुलेंस रोकी? नहीं, ये 2017 का वीडियो है"),
        target("m", "मनोज तिवारी की रैली के लिए पुलिस ने एम्बुलेंस रोकी? नहीं, ये 2017 का वीडियो है"),
    ]
    groups = twin_groups(targets)
    assert groups["a"] == {"a", "b"}  # a plural and a verb form: one claim
    assert groups["c"] == {"c"}  # another year: another claim
    assert groups["d"] == {"d", "e"}  # one word in ten differs
    assert groups["f"] == {"f"}  # two words of ten differ: another claim
    assert groups["g"] == {"g"} and groups["h"] == {"h"}  # a variant letter is a name
    assert groups["j"] == {"j"}  # another night: an ordinal in one claim only
    assert groups["l"] == {"l"}  # no capitals to tell the names apart: no stemmed-word twins


def test_a_reordered_or_reversed_text_is_left_to_the_ranker() -> None:
    tap = "Tap water in the city has been poisoned and is not safe to drink."
    assert restates(_key(f"Forwarded: {tap} Share!"), _key(tap))
    assert not restates(
        _key("Tap water in the city has not been poisoned and is not safe"), _key(tap)
    )
    assert not restates(
        _key("Drink tap water: the city has been poisoned, it is not safe"), _key(tap)
    )


def _contrast(message: str, claim: str) -> str | None:
    return contrast(facts(clean_text(message)), facts(clean_text(claim)))


def test_a_paraphrase_contradicts_nothing_a_same_topic_claim_says_how_it_differs() -> None:
    claim = "The city will cut off all water supply for two weeks starting Monday."
    assert (
        _contrast("From Monday the city is cutting off water everywhere for 2 weeks", claim) is None
    )
    assert _contrast("The city will cut off water for three weeks from Monday", claim) == "number"
    assert _contrast("The city will cut off water for two weeks from Friday", claim) == "day"
    assert _contrast("The city will not cut off the water on Monday", claim) == "negation"
    assert _contrast("Bus fares will be free from next week", "Bus fares will double.") == (
        "predicate"
    )
    bridge = "The main bridge on River Road is closed for repairs this weekend."
    assert _contrast("The main bridge on Mombasa Road is closed this weekend", bridge) == "name"
    assert _contrast("The bridge on River Road has reopened", bridge) == "predicate"
    assert _contrast("The city is hiring 200 street cleaners", "The city is hiring 2,000.") == (
        "number"
    )
    # Swahili and Spanish negation; Swahili "ni" is "is", not Spanish "nor"
    assert _contrast("Jiji halitakata maji Jumatatu", "Jiji litakata maji Jumatatu.") == (
        "negation"
    )
    assert _contrast("El agua no está contaminada", "El agua está contaminada.") == "negation"
    assert _contrast("Maji ni salama", "Maji ni salama.") is None


def test_headlines_and_long_messages_do_not_contradict_by_their_names() -> None:
    claim = "A riot broke out after a woman gave vodka shots on New Year's Eve."
    headline = "Woman Gives Vodka Shots At Bar, Causing Riot After Explosion"
    assert _contrast(headline, claim) is None


def test_relative_links_do_not_make_every_fact_check_a_twin() -> None:
    targets = [
        Target("a", "A senator co-sponsored a bill on late-term abortion.", None, "/fc/1/", "en"),
        Target("b", "The number of murders rose over two years.", None, "/fc/2/", "en"),
    ]
    assert twin_groups(targets)["a"] == {"a"}


def test_a_number_word_opening_a_sentence_is_still_a_number() -> None:
    claim = facts(clean_text("There has been a 20 percent increase in young people coming back."))
    message = facts(clean_text("Three percent of the people come back for a trial."))
    assert "3" in message.numbers
    assert contrast(message, claim) == "number"
    # inside a sentence, a capitalised number word is part of a name
    assert "3" not in facts(clean_text("The accident at Three Mile Island")).numbers


def test_a_shortened_name_is_the_same_person_and_another_name_is_not() -> None:
    claim = "The government of President William Ruto has banned the sale of maize flour in Kisumu."
    # "Ruto" is "President William Ruto"; the outlet the message cites is not a rival name
    assert _contrast("They say Ruto has banned maize flour sales in Kisumu, Citizen TV says",
                     claim) is None
    assert _contrast("They say Raila has banned maize flour sales in Kisumu, Citizen TV says",
                     claim) == "name"
