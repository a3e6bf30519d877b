"""Render one share card per language into docs/cards/ (the README shows them).

.venv/bin/python scripts/share_cards.py
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.sharing.cards import FORMATS
from bot.sharing.content import ShareSource
from bot.sharing.service import ShareCards
from domain.settings import Settings

OUT = Path(__file__).resolve().parents[1] / "docs" / "cards"
SAMPLES = {
    "en": (
        "false",
        "Drinking hot water with salt cures cholera, so there is no need to go to a clinic",
        "No. Cholera needs oral rehydration salts and medical care. Go to a clinic at once.",
    ),
    "sw": (
        "false",
        "Maji ya bomba yamewekwa sumu, usinywe maji yoyote leo",
        "Si kweli. Idara ya maji ilipima sampuli zote asubuhi hii na maji ni salama kunywa.",
    ),
    "hi": (
        "false",
        "नल के पानी में ज़हर मिलाया गया है, कोई भी पानी न पिए",
        "यह झूठ है। जल बोर्ड ने आज सुबह सभी नमूनों की जाँच की और पानी पीने के लिए सुरक्षित है।",
    ),
    "ar": (
        "misleading",
        "الانتخابات تأجلت إلى الشهر القادم بسبب الأمطار",
        "مضلل. لم تؤجل لجنة الانتخابات أي موعد، ومراكز الاقتراع تفتح يوم السبت كما هو مقرر.",
    ),
    "es": (
        "true",
        "El ayuntamiento abre tres nuevos puntos de agua potable en el barrio sur",
        "Cierto. Los puntos abren el lunes de 7:00 a 19:00 y el agua es gratuita.",
    ),
    "id": (
        "missing_context",
        "Jembatan utama akan ditutup selama sebulan mulai besok pagi",
        "Hanya satu lajur ditutup pada malam hari untuk perbaikan selama tiga hari.",
    ),
}


def main() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        city_name="Demo City Council",
        telegram_bot_username="DemoCityFactsBot",
    )
    cards = ShareCards(settings)
    OUT.mkdir(parents=True, exist_ok=True)
    for language, (verdict, claim, explanation) in SAMPLES.items():
        source = ShareSource(
            verdict,
            claim,
            explanation,
            "https://city.example/notices/1",
            "City communications team",
            datetime(2026, 11, 30),
            language,
        )
        (OUT / f"{language}.png").write_bytes(cards.png(language, source, "square"))
        if language == "hi":
            (OUT / f"{language}-story.png").write_bytes(cards.png(language, source, "story"))
    print(f"{len(SAMPLES)} cards in {OUT} ({', '.join(FORMATS)})")


if __name__ == "__main__":
    main()
