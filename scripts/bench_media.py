"""Media benchmark: OCR character accuracy per language on degraded images, pHash separation,
speech word error rate per language on synthetic voice notes, CPU seconds per item, and the
time a 60-second voice note takes. Writes bench/media.json and bench/media.md.

Everything is made here (Pillow + Noto fonts, espeak-ng, ffmpeg): no download. Synthetic speech
is far easier than residents' voice notes in some ways (one clear robotic voice, no background
noise, no accent, no overlapping speakers, no phone microphone) and harder in others (espeak-ng's
Swahili, Hindi and Arabic prosody is unnatural, and Whisper was trained on human speech), so
the word error rates below are a smoke test of the pipeline, not a measure of accuracy on real
notes.

    .venv/bin/python scripts/bench_media.py            # about 3-4 minutes on 2 cores
    .venv/bin/python scripts/bench_media.py --only lookup   # the pHash lookup alone (~1 min)

The lookup section stores 100,000 pHashes (SQLite, on 1,000 active items) and times finding a
new image's copies: comparing with every stored hash (what `find_known` did before the index)
against the multi-index hashing index (`bot.media.phash_index`), checking both find the same.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.media.images import hamming  # noqa: E402
from bot.media.phash_index import index_for  # noqa: E402
from bot.media.stage import MediaStage  # noqa: E402
from domain.db import Database  # noqa: E402
from domain.media import find_known, is_copy, text_agrees  # noqa: E402
from domain.models import HashAlgorithm, KnowledgeItem, MediaHash  # noqa: E402
from domain.settings import Settings  # noqa: E402
from tests.media import samples  # noqa: E402

OTHER_NOTICES = {  # a second rumour per language, for "same template, different image"
    "en": "Free food parcels will be given at the stadium on Friday to every family",
    "sw": "Chakula cha bure kitatolewa uwanjani siku ya Ijumaa kwa kila familia",
    "es": "El viernes darán paquetes de comida gratis en el estadio a cada familia",
    "id": "Paket makanan gratis akan dibagikan di stadion hari Jumat untuk setiap keluarga",
    "hi": "शुक्रवार को स्टेडियम में हर परिवार को मुफ्त राशन दिया जाएगा",
    "ar": "سيتم توزيع طرود غذائية مجانية في الملعب يوم الجمعة لكل عائلة",
}
SPEECH = {  # two sentences per language, as a resident might say them
    "en": ["The city will cut water supply to all districts for two weeks starting Monday.",
           "Do not take your children to school tomorrow because of the storm."],
    "sw": ["Serikali itakata maji kwa wiki mbili kuanzia Jumatatu.",
           "Msipeleke watoto shuleni kesho kwa sababu ya dhoruba."],
    "es": ["La ciudad cortará el agua durante dos semanas desde el lunes.",
           "No lleven a los niños a la escuela mañana por la tormenta."],
    "id": ["Pemerintah kota akan memutus air selama dua minggu mulai Senin.",
           "Jangan antar anak ke sekolah besok karena ada badai."],
    "hi": ["शहर सोमवार से दो हफ्ते तक पानी बंद करेगा।",
           "तूफान की वजह से कल बच्चों को स्कूल मत भेजो।"],
    "ar": ["ستقطع المدينة المياه لمدة أسبوعين ابتداء من يوم الاثنين.",
           "لا ترسلوا الأطفال إلى المدرسة غدا بسبب العاصفة."],
}
VARIANTS = {  # how a forwarded copy is degraded
    "photo": {"scale": 0.7, "quality": 50, "blur": 0.6, "crop": 0.03},
    "screenshot": {"scale": 0.8, "quality": 50, "blur": 0.4, "crop": 0.0, "screenshot": True},
    "small": {"scale": 0.45, "quality": 40, "blur": 0.8, "crop": 0.05},
}


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def char_accuracy(reference: str, read: str) -> float:
    ref, hyp = normalise(reference).replace(" ", ""), normalise(read).replace(" ", "")
    return max(0.0, 1.0 - Levenshtein.distance(ref, hyp) / max(len(ref), 1))


def word_error_rate(reference: str, heard: str) -> float:
    ref, hyp = normalise(reference).split(), normalise(heard).split()
    return Levenshtein.distance(ref, hyp) / max(len(ref), 1)


def ocr_bench(stage: MediaStage) -> tuple[dict[str, Any], list[float]]:
    results: dict[str, Any] = {}
    cpu: list[float] = []
    for language, body in samples.NOTICES.items():
        scores: dict[str, float] = {}
        for name, options in VARIANTS.items():
            data = samples.degraded(samples.notice(language, seed=1), **options)  # type: ignore[arg-type]
            reading = stage.read_now(data, language)
            cpu.append(reading.extra["cpu_seconds"])
            scores[name] = round(char_accuracy(body, _without_header(reading.ocr_text)), 3)
        results[language] = {"char_accuracy": scores,
                             "mean": round(statistics.mean(scores.values()), 3)}
    return results, cpu


def _without_header(text: str) -> str:
    """The notice's body: drop the "NOTICE" title and a screenshot's status bar line."""
    return " ".join(line for line in text.splitlines() if len(line.split()) >= 3)


def phash_bench(stage: MediaStage) -> dict[str, Any]:
    """Distances between an original and its degraded copies, and between two notices made
    from one template (same layout and colours, different words); a perceptual match also
    needs the words read from both to agree (`domain.media.text_agrees`)."""
    copies: list[tuple[int, bool | None]] = []
    different: list[tuple[int, bool | None]] = []
    for language in samples.NOTICES:
        for seed in (0, 1):
            original = stage.read_now(samples.jpeg(samples.notice(language, seed=seed)), language)
            for options in VARIANTS.values():
                copy = samples.degraded(samples.notice(language, seed=seed), **options)  # type: ignore[arg-type]
                read = stage.read_now(copy, language)
                copies.append((hamming(original.phashes[0], read.phashes[0]),
                               text_agrees(original.ocr_text, read.ocr_text)))
            other = stage.read_now(samples.jpeg(samples.notice(
                language, OTHER_NOTICES[language], seed=seed)), language)
            different.append((hamming(original.phashes[0], other.phashes[0]),
                              text_agrees(original.ocr_text, other.ocr_text)))
    cut = stage.settings.media_phash_max_distance
    strict = stage.settings.media_phash_max_distance_without_words
    sweep = {str(c): {"copies": _share(copies, c, strict),
                      "different": _share(different, c, strict),
                      "different_without_words_check": _share([(d, True) for d, _ in different],
                                                              c, c)}
             for c in range(4, 25, 2)}
    return {
        "copies": _summary([d for d, _ in copies]),
        "same_template_different_text": _summary([d for d, _ in different]),
        "cut": cut, "strict": strict, "at_cut": sweep.get(str(cut)), "sweep": sweep,
        "copy_distances": sorted(d for d, _ in copies),
        "different_distances": sorted(d for d, _ in different),
    }


def _share(pairs: list[tuple[int, bool | None]], cut: int, strict: int) -> float:
    return round(sum(is_copy(d, words, cut, strict) for d, words in pairs) / len(pairs), 3)


def _summary(values: list[int]) -> dict[str, Any]:
    return {"n": len(values), "min": min(values), "median": statistics.median(values),
            "max": max(values)}


def speech_bench(stage: MediaStage) -> tuple[dict[str, Any], list[float]]:
    results: dict[str, Any] = {}
    cpu: list[float] = []
    for language, sentences in SPEECH.items():
        rates, heard = [], []
        for sentence in sentences:
            reading = stage.read_now(samples.voice_note(sentence, language), language)
            cpu.append(reading.extra["cpu_seconds"])
            rates.append(word_error_rate(sentence, reading.transcript))
            heard.append(reading.transcript)
        results[language] = {"wer": round(statistics.mean(rates), 3), "heard": heard}
    return results, cpu


def minute_note(stage: MediaStage) -> dict[str, Any]:
    """A voice note of about 60 seconds: the answer budget is 60 s on this machine."""
    text = " ".join(SPEECH["en"] * 6)
    note = samples.voice_note(text, "en", speed=140)
    started = time.perf_counter()
    reading = stage.read_now(note, "en")
    return {"audio_seconds": reading.duration, "wall_seconds": round(time.perf_counter() -
                                                                     started, 2),
            "cpu_seconds": reading.extra["cpu_seconds"],
            "wer": round(word_error_rate(text, reading.transcript), 3)}


def video_bench(stage: MediaStage) -> dict[str, Any]:
    note = samples.voice_note(SPEECH["en"][0], "en")
    clip = samples.video(samples.notice("en", seed=2), note, seconds=6)
    reading = stage.read_now(clip, "en")
    return {"seconds_of_video": reading.duration, "cpu_seconds": reading.extra["cpu_seconds"],
            "wall_seconds": reading.seconds, "keyframe_hashes": len(reading.phashes),
            "ocr_char_accuracy": round(char_accuracy(samples.NOTICES["en"],
                                                     _without_header(reading.ocr_text)), 3),
            "wer": round(word_error_rate(SPEECH["en"][0], reading.transcript), 3)}


def _flip(value: int, bits: int, rng: random.Random) -> int:
    for bit in rng.sample(range(64), bits):
        value ^= 1 << bit
    return value


async def _lookup_bench(stored: int, queries: int, cut: int) -> dict[str, Any]:
    rng = random.Random(14)  # noqa: S311 - reproducible test data, not secrets
    templates = [rng.getrandbits(64) for _ in range(stored // 100)]
    values = [f"{_flip(rng.choice(templates), rng.randrange(0, 20), rng):016x}" if n % 2
              else f"{rng.getrandbits(64):016x}" for n in range(stored)]
    probes = [f"{_flip(int(rng.choice(values), 16), rng.randrange(0, 12), rng):016x}"
              for _ in range(queries // 2)] + [f"{rng.getrandbits(64):016x}"
                                               for _ in range(queries - queries // 2)]
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/lookup.db")
        await db.migrate()
        items = 1000
        async with db.session() as session:
            session.add_all(KnowledgeItem(claim=f"item {n}", verdict="false") for n in range(items))
        async with db.session() as session:
            await session.execute(MediaHash.__table__.insert(), [  # type: ignore[attr-defined]
                {"algorithm": HashAlgorithm.PHASH.value, "value": v,
                 "knowledge_item_id": 1 + n % items} for n, v in enumerate(values)])
        async with db.session() as session:
            started = time.perf_counter()
            index = await index_for(db, session)
            built = time.perf_counter() - started
        timings: dict[str, list[float]] = {"scan": [], "index": [], "index_probe": []}
        same = 0
        for probe in probes:
            async with db.session() as session:
                started = time.perf_counter()
                scanned = await find_known(session, "0" * 64, [probe], cut)
                timings["scan"].append(time.perf_counter() - started)
                started = time.perf_counter()
                near = (await index_for(db, session)).near([probe], cut)
                timings["index_probe"].append(time.perf_counter() - started)
                indexed = await find_known(session, "0" * 64, [probe], cut, near_ids=near)
                timings["index"].append(time.perf_counter() - started)
            same += scanned == indexed
        await db.dispose()
    ms = {name: {"mean": round(1000 * statistics.mean(t), 2),
                 "p95": round(1000 * sorted(t)[int(0.95 * (len(t) - 1))], 2)}
          for name, t in timings.items()}
    return {"stored": stored, "queries": len(probes), "cut": cut, "indexed": len(index),
            "build_seconds": round(built, 2), "ms": ms, "same_answer": same,
            "load_average": os.getloadavg()}


def lookup_bench(stored: int = 100_000, queries: int = 60, cut: int = 16) -> dict[str, Any]:
    return asyncio.run(_lookup_bench(stored, queries, cut))


def lookup_markdown(x: dict[str, Any]) -> list[str]:
    ms = x["ms"]
    return ["## Finding a copy among stored pHashes", "",
            f"{x['stored']:,} pHashes on 1,000 active items (SQLite), {x['queries']} new images "
            f"(half near copies of stored ones), cut {x['cut']} bits; load average "
            f"{', '.join(f'{v:.1f}' for v in x['load_average'])} while measuring (a busy "
            "machine).", "",
            "| lookup | mean ms | p95 ms |", "|---|---|---|",
            f"| every stored hash read and compared | {ms['scan']['mean']} | "
            f"{ms['scan']['p95']} |",
            f"| index (multi-index hashing), then only its candidates read | "
            f"{ms['index']['mean']} | {ms['index']['p95']} |",
            f"| ... of which the index probe | {ms['index_probe']['mean']} | "
            f"{ms['index_probe']['p95']} |", "",
            f"Same item found both ways for {x['same_answer']} of {x['queries']} images. "
            f"Building the index from the table: {x['build_seconds']} s (once per process and "
            "every 6 hours; the first image a process reads waits for it).", ""]


def markdown(result: dict[str, Any]) -> str:
    lines = ["# Media benchmark", "", f"Machine: {result['machine']}. Made by "
             "`scripts/bench_media.py` (`make bench`); every file is generated by the script.",
             "", "## OCR character accuracy (Tesseract 5, packs chosen per image)", "",
             "| language | photo | screenshot | small | mean |", "|---|---|---|---|---|"]
    for language, row in result["ocr"].items():
        s = row["char_accuracy"]
        lines.append(f"| {language} | {s['photo']} | {s['screenshot']} | {s['small']} | "
                     f"{row['mean']} |")
    p = result["phash"]
    lines += ["", "## pHash separation (64 bits)", "",
              f"Copies (JPEG 40-50, resized to 45-80 %, blurred, cropped up to 5 %, status bar): "
              f"{p['copies']['n']} pairs, distance min {p['copies']['min']}, median "
              f"{p['copies']['median']}, max {p['copies']['max']}.",
              f"Same template, different text: {p['same_template_different_text']['n']} pairs, "
              f"distance min {p['same_template_different_text']['min']}, median "
              f"{p['same_template_different_text']['median']}.",
              "", "| cut (bits) | copies matched | different images matched | "
              "... without the words check |", "|---|---|---|---|"]
    for cut, row in p["sweep"].items():
        lines.append(f"| {cut} | {row['copies']:.0%} | {row['different']:.0%} | "
                     f"{row['different_without_words_check']:.0%} |")
    lines += ["", f"The default cut is {p['cut']} bits when the words agree "
              "(RUMOURBOT_MEDIA_PHASH_MAX_DISTANCE) and "
              f"{p['strict']} bits for images with too few words to compare "
              "(RUMOURBOT_MEDIA_PHASH_MAX_DISTANCE_WITHOUT_WORDS); images whose words differ "
              "never match by hash.", "",
              "## Speech (Whisper base, int8, language forced) on espeak-ng voice notes", "",
              "| language | WER |", "|---|---|"]
    for language, row in result["speech"].items():
        lines.append(f"| {language} | {row['wer']} |")
    m, v, c = result["minute_note"], result["video"], result["cpu_seconds_per_item"]
    lines += ["", "Synthetic speech is not residents' speech: one clean robotic voice, no "
              "noise, no accent, no phone microphone; espeak-ng's non-English voices are far "
              "from natural. Read these as a check that the pipeline works per language.", "",
              f"A {m['audio_seconds']} s voice note: {m['wall_seconds']} s wall, "
              f"{m['cpu_seconds']} s CPU, WER {m['wer']} (budget: 60 s).", "",
              f"A {v['seconds_of_video']} s video with speech: {v['cpu_seconds']} s CPU, "
              f"{v['keyframe_hashes']} distinct keyframe hash(es), OCR accuracy "
              f"{v['ocr_char_accuracy']}, WER {v['wer']}.", "",
              "## CPU seconds per item (this process and its tesseract/ffmpeg children)", "",
              f"image: {c['image']} s, voice note (3-6 s of speech): {c['audio']} s.", ""]
    if "lookup" in result:
        lines += lookup_markdown(result["lookup"])
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench")
    parser.add_argument("--only", choices=["lookup"],
                        help="run one section, keeping the other figures of media.json")
    args = parser.parse_args()
    if args.only == "lookup":
        result = json.loads((args.out / "media.json").read_text())
        result["lookup"] = lookup_bench()
        (args.out / "media.json").write_text(json.dumps(result, ensure_ascii=False, indent=2)
                                             + "\n")
        (args.out / "media.md").write_text(markdown(result))
        print("\n".join(lookup_markdown(result["lookup"])))
        return
    with tempfile.TemporaryDirectory() as tmp:
        stage = MediaStage(Settings(_env_file=None, media_dir=os.environ.get(  # type: ignore[call-arg]
            "RUMOURBOT_MEDIA_DIR", tmp)))
        ocr, image_cpu = ocr_bench(stage)
        phash = phash_bench(stage)
        speech, audio_cpu = speech_bench(stage)
        result = {
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
            "ocr": ocr, "phash": phash, "speech": speech,
            "minute_note": minute_note(stage), "video": video_bench(stage),
            "cpu_seconds_per_item": {"image": round(statistics.mean(image_cpu), 2),
                                     "audio": round(statistics.mean(audio_cpu), 2)},
            "lookup": lookup_bench(),
        }
    args.out.mkdir(exist_ok=True)
    (args.out / "media.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    (args.out / "media.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
