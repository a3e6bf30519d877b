"""Share cards in all six languages: text fits, Arabic reads right to left, Devanagari is shaped.

Shaping is checked against reference renderings the tests make with Pillow directly: the same
line drawn with libraqm must match the card pixel for pixel, and Pillow's basic layout (no
shaping, no bidi) must not.
"""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageStat

from bot.sharing.cards import FORMATS, MARGIN, CardContent, CardRenderer, Layout
from bot.sharing.content import ShareSource, card_content, share_text
from bot.sharing.fonts import Fonts, Script
from bot.sharing.text import ELLIPSIS, Box, baseline_of
from domain.settings import Settings

FONTS_DIR = "/usr/share/fonts/truetype/noto"
SAMPLES = {
    "en": (
        "Drinking hot water with salt cures cholera, so there is no need to go to a clinic",
        "No. Cholera needs oral rehydration salts and medical care. Go to a clinic at once.",
    ),
    "sw": (
        "Maji ya bomba yamewekwa sumu, usinywe maji yoyote leo",
        "Si kweli. Idara ya maji ilipima sampuli zote asubuhi hii na maji ni salama kunywa.",
    ),
    "hi": (
        "नल के पानी में ज़हर मिलाया गया है, कोई भी पानी न पिए",
        "यह झूठ है। जल बोर्ड ने आज सुबह सभी नमूनों की जाँच की और पानी पीने के लिए सुरक्षित है।",
    ),
    "ar": (
        "الانتخابات تأجلت إلى الشهر القادم بسبب الأمطار",
        "مضلل. لم تؤجل لجنة الانتخابات أي موعد، ومراكز الاقتراع تفتح يوم السبت كما هو مقرر.",
    ),
    "es": (
        "Las vacunas contra el sarampión causan infertilidad en las niñas",
        "Falso. No hay ninguna prueba de eso; la vacuna es segura y protege a los niños.",
    ),
    "id": (
        "Jembatan utama akan ditutup selama sebulan mulai besok pagi",
        "Menyesatkan. Hanya satu lajur ditutup pada malam hari untuk perbaikan selama tiga hari.",
    ),
}
BACKGROUND = (255, 255, 255)


@pytest.fixture(scope="module")
def fonts() -> Fonts:
    return Fonts(FONTS_DIR)


@pytest.fixture(scope="module")
def renderer(fonts: Fonts) -> CardRenderer:
    from bot.sharing.text import Typesetter

    return CardRenderer(Typesetter(fonts))


def settings() -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        city_name="Nairobi City County",
        telegram_bot_username="NairobiFactsBot",
    )


def source(language: str, claim: str | None = None, explanation: str | None = None) -> ShareSource:
    sample_claim, sample_explanation = SAMPLES[language]
    return ShareSource(
        "false",
        claim or sample_claim,
        explanation or sample_explanation,
        "https://health.nairobi.go.ke/notices/water",
        "Nairobi Water Department",
        datetime(2026, 11, 30, 9, 0),
        language,
    )


def content(language: str, claim: str | None = None) -> CardContent:
    return card_content(settings(), source(language, claim))


def assert_fits(layout: Layout) -> None:
    width, height = layout.size
    placed: list[tuple[str, Box]] = []
    for name, block in layout.blocks.items():
        for line in block.line_boxes():
            assert block.box.left <= line.left and line.right <= block.box.right, name
            assert layout.safe.left <= line.left and line.right <= layout.safe.right, name
            assert 0 <= line.top and line.bottom <= height, name
            placed.append((name, line))
    for index, (name, one) in enumerate(placed):
        for other_name, other in placed[index + 1 :]:
            apart = one.bottom <= other.top or other.bottom <= one.top
            assert apart or one.right <= other.left or other.right <= one.left, (name, other_name)


def assert_margins_blank(image: Image.Image, layout: Layout) -> None:
    """No ink in the side margins: the stamp and footer bands are flat colour there."""
    width, _ = image.size
    for band_top, band_bottom in (
        (0, layout.stamp.top),
        (layout.stamp.bottom, layout.footer.top),
        (layout.stamp.top, layout.stamp.bottom),
        (layout.footer.top, image.size[1]),
    ):
        for left, right in ((0, MARGIN - 6), (width - MARGIN + 6, width)):
            strip = image.crop((left, band_top, right, band_bottom))
            assert strip.getcolors(1) is not None, (left, band_top)  # one colour only


@pytest.mark.parametrize("language", sorted(SAMPLES))
@pytest.mark.parametrize("format_name", sorted(FORMATS))
def test_card_in_every_language_fits_and_is_a_png_of_the_right_size(
    renderer: CardRenderer, language: str, format_name: str
) -> None:
    data = renderer.png(content(language), FORMATS[format_name])
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG" and image.size == FORMATS[format_name]
    layout = renderer.layout(content(language), FORMATS[format_name])
    assert_fits(layout)
    assert_margins_blank(image.convert("RGB"), layout)
    assert not layout.blocks["claim"].truncated
    assert layout.blocks["claim"].size >= 44  # a short claim stays large


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_a_long_claim_shrinks_then_is_cut_with_an_ellipsis_and_never_overflows(
    renderer: CardRenderer, language: str
) -> None:
    claim = " ".join([SAMPLES[language][0]] * 30) + " " + "x" * 300
    for size in FORMATS.values():
        layout = renderer.layout(content(language, claim), size)
        claim_block = layout.blocks["claim"]
        assert claim_block.size == claim_block.style.min_size
        assert claim_block.truncated and claim_block.lines[-1].text.endswith(ELLIPSIS)
        assert_fits(layout)
        assert_margins_blank(renderer.render(content(language, claim), size), layout)
    for unbroken in ("x" * 5000, SAMPLES[language][0].replace(" ", "") * 40):
        layout = renderer.layout(content(language, unbroken), FORMATS["square"])
        assert layout.blocks["claim"].truncated
        assert_fits(layout)
    medium = " ".join([SAMPLES[language][0]] * 3)
    layout = renderer.layout(content(language, medium), FORMATS["square"])
    assert layout.blocks["claim"].style.min_size < layout.blocks["claim"].size < 60
    assert not layout.blocks["claim"].truncated


def reference_line(
    fonts: Fonts, text: str, size: int, box: Box, engine: ImageFont.Layout, rtl: bool
) -> Image.Image:
    """`text` drawn straight with Pillow in the claim's font, where the card draws line 1."""
    script = Script.ARABIC if rtl else Script.DEVANAGARI
    face = ImageFont.truetype(str(fonts.path(script, bold=True)), size, layout_engine=engine)
    image = Image.new("RGB", (box.right + MARGIN, box.bottom), BACKGROUND)
    anchor, x = ("rs", box.right) if rtl else ("ls", box.left)
    options = {"direction": "rtl" if rtl else "ltr"} if engine == ImageFont.Layout.RAQM else {}
    ImageDraw.Draw(image).text(
        (x, baseline_of(box, size)), text, font=face, fill=(26, 26, 26), anchor=anchor, **options
    )
    return image


def difference(card: Image.Image, reference: Image.Image, box: Box) -> float:
    crop = (box.left, box.top, box.right, box.bottom)
    diff = ImageChops.difference(card.crop(crop), reference.crop(crop)).convert("L")
    return float(ImageStat.Stat(diff).mean[0])


def test_devanagari_is_shaped_like_libraqm_and_unlike_basic_layout(
    renderer: CardRenderer, fonts: Fonts
) -> None:
    card_content_hi = content("hi")
    card = renderer.render(card_content_hi, FORMATS["square"])
    claim = renderer.layout(card_content_hi, FORMATS["square"]).blocks["claim"]
    line, box = claim.lines[0], claim.line_boxes()[0]
    assert "ि" in line.text  # a vowel sign drawn before its consonant: needs reordering
    raqm = reference_line(fonts, line.text, claim.size, box, ImageFont.Layout.RAQM, False)
    basic = reference_line(fonts, line.text, claim.size, box, ImageFont.Layout.BASIC, False)
    assert difference(card, raqm, box) < 0.5
    assert difference(card, basic, box) > 5 * max(difference(card, raqm, box), 0.5)


def test_devanagari_vowel_sign_i_is_placed_before_its_consonant(fonts: Fonts) -> None:
    face = fonts.face(Script.DEVANAGARI, 80)
    ki = face.getbbox("कि")
    ka = face.getbbox("क")
    # shaped, the i-sign sits left of (and over) क, so "कि" is only a little wider than "क"
    assert ki[2] - ki[0] < (ka[2] - ka[0]) * 1.6
    basic = ImageFont.truetype(
        str(fonts.path(Script.DEVANAGARI)), 80, layout_engine=ImageFont.Layout.BASIC
    )
    assert basic.getlength("कि") != face.getlength("कि")


def test_arabic_reads_right_to_left_and_is_joined(renderer: CardRenderer, fonts: Fonts) -> None:
    card_content_ar = content("ar")
    assert card_content_ar.rtl
    card = renderer.render(card_content_ar, FORMATS["square"])
    claim = renderer.layout(card_content_ar, FORMATS["square"]).blocks["claim"]
    line, box = claim.lines[0], claim.line_boxes()[0]
    assert box.right == claim.box.right  # right-aligned
    raqm = reference_line(fonts, line.text, claim.size, box, ImageFont.Layout.RAQM, True)
    basic = reference_line(fonts, line.text, claim.size, box, ImageFont.Layout.BASIC, True)
    assert difference(card, raqm, box) < 0.5
    assert difference(card, basic, box) > 5 * max(difference(card, raqm, box), 0.5)
    # the first word of the sentence is the rightmost one on the card
    first_word = line.text.split()[0]
    alone = reference_line(fonts, first_word, claim.size, box, ImageFont.Layout.RAQM, True)
    width = round(fonts.face(Script.ARABIC, claim.size, True).getlength(first_word, "rtl"))
    right_end = Box(box.right - width, box.top, box.right, box.bottom)
    left_end = Box(box.left, box.top, box.left + width, box.bottom)
    at_right, at_left = difference(card, alone, right_end), difference(card, alone, left_end)
    assert at_right < 2.5 and at_left > 4 * at_right, (at_right, at_left)


def test_a_mixed_line_uses_each_scripts_font(fonts: Fonts) -> None:
    runs = fonts.runs("स्रोत: Nairobi Water · 2026-11-30")
    assert [run.script for run in runs] == [Script.DEVANAGARI, Script.LATIN]
    runs = fonts.runs("المصدر: health.go.ke/notices")
    assert runs[0].script is Script.ARABIC and runs[-1].script is Script.LATIN


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_forward_ready_text_fits_every_limit_and_ends_with_the_bot_link(language: str) -> None:
    long = source(language, " ".join([SAMPLES[language][0]] * 40), SAMPLES[language][1] * 80)
    for limit in (1024, 4096):
        message = share_text(settings(), long, limit)
        assert len(message) <= limit
        assert message.endswith("https://t.me/NairobiFactsBot")
        assert message.startswith("❌ ")
        assert "…" in message
    short = share_text(settings(), source(language), 1024)
    assert SAMPLES[language][0] in short and SAMPLES[language][1] in short
    assert "2026-11-30" in short and "https://health.nairobi.go.ke/notices/water" in short


def test_card_shows_the_logo_when_the_city_sets_one(renderer: CardRenderer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    logo = tmp_path / "logo.png"
    Image.new("RGBA", (200, 200), (0, 120, 200, 255)).save(logo)
    with_logo = CardContent(**{**content("en").__dict__, "logo_path": str(logo)})
    layout = renderer.layout(with_logo, FORMATS["square"])
    assert layout.logo is not None
    image = renderer.render(with_logo, FORMATS["square"])
    middle = (
        (layout.logo.left + layout.logo.right) // 2,
        (layout.logo.top + layout.logo.bottom) // 2,
    )
    assert image.getpixel(middle) == (0, 120, 200)
    assert layout.blocks["city"].box.left >= layout.logo.right


def test_docs_show_one_card_per_language_as_the_renderer_draws_it() -> None:
    from pathlib import Path

    docs = Path(__file__).resolve().parents[3] / "docs" / "cards"
    readme = (docs.parents[1] / "README.md").read_text(encoding="utf-8")
    for language in SAMPLES:
        with Image.open(docs / f"{language}.png") as image:
            assert image.size == FORMATS["square"]
        assert f"docs/cards/{language}.png" in readme
