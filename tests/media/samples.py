"""Media files made on the spot for tests and the benchmark (nothing downloaded).

Images: a fake notice rendered with Pillow in Debian's Noto fonts (the six scripts), then
degraded the way forwarding degrades it (resized, JPEG quality 50, slight blur, cropped, a
phone's status bar added). Voice notes: espeak-ng speech converted to OGG/Opus (what Telegram
and WhatsApp send). Video: ffmpeg makes an H.264 MP4 from an image and a voice note.
"""

from __future__ import annotations

import io
import random
import subprocess
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONTS = Path("/usr/share/fonts/truetype/noto")
FONT_FILES = {"Latin": "NotoSans-Regular.ttf", "Devanagari": "NotoSansDevanagari-Regular.ttf",
              "Arabic": "NotoSansArabic-Regular.ttf"}
SCRIPT_OF = {"en": "Latin", "sw": "Latin", "es": "Latin", "id": "Latin", "hi": "Devanagari",
             "ar": "Arabic"}
ESPEAK_VOICES = {"en": "en", "sw": "sw", "hi": "hi", "ar": "ar", "es": "es", "id": "id"}

# one rumour per language, as a fake notice would word it (written for these tests)
NOTICES = {
    "en": "The city will cut water supply to all districts for two weeks starting Monday",
    "sw": "Serikali ya jiji itakata maji kwa wilaya zote kwa wiki mbili kuanzia Jumatatu",
    "es": "La ciudad cortará el agua en todos los barrios durante dos semanas desde el lunes",
    "id": "Pemerintah kota akan memutus air di semua kecamatan selama dua minggu mulai Senin",
    "hi": "शहर सोमवार से दो हफ्ते तक सभी जिलों में पानी की आपूर्ति बंद करेगा",
    "ar": "ستقطع المدينة المياه عن جميع الأحياء لمدة أسبوعين ابتداء من يوم الاثنين",
}
VOICE_NOTES = {
    "en": "The city will cut water supply to all districts for two weeks starting Monday.",
    "sw": "Serikali itakata maji kwa wiki mbili kuanzia Jumatatu. Waambie wote.",
}


def font(language: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / FONT_FILES[SCRIPT_OF[language]]), size)


def _wrap(text: str, typeface: ImageFont.FreeTypeFont, width: int,
          draw: ImageDraw.ImageDraw, direction: str | None) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if draw.textlength(trial, font=typeface, direction=direction) <= width or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    return [*lines, current] if current else lines


def notice(language: str, text: str | None = None, *, title: str = "NOTICE",
           width: int = 900, seed: int = 0) -> Image.Image:
    """A fake official notice: a coloured header band, a title, the body text."""
    rng = random.Random(seed)
    body = text if text is not None else NOTICES[language]
    direction = "rtl" if SCRIPT_OF[language] == "Arabic" else None
    typeface, heading = font(language, 40), font("en", 52)
    probe = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    lines = _wrap(body, typeface, width - 120, probe, direction)
    height = 220 + 62 * len(lines) + 80
    background = (250, 248, 240) if seed % 2 == 0 else (255, 255, 255)
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    band = (rng.randrange(0, 120), rng.randrange(60, 160), rng.randrange(80, 200))
    draw.rectangle((0, 0, width, 120), fill=band)
    draw.text((60, 30), title, font=heading, fill="white")
    y = 170
    for line in lines:
        if direction:
            length = draw.textlength(line, font=typeface, direction=direction)
            draw.text((width - 60 - length, y), line, font=typeface, fill=(20, 20, 20),
                      direction=direction)
        else:
            draw.text((60, y), line, font=typeface, fill=(20, 20, 20))
        y += 62
    draw.rectangle((0, height - 30, width, height), fill=band)
    return image


def status_bar(image: Image.Image) -> Image.Image:
    """The image as a phone screenshot shows it: a status bar with time and battery on top."""
    bar = 56
    shot = Image.new("RGB", (image.width, image.height + bar), (0, 0, 0))
    draw = ImageDraw.Draw(shot)
    draw.text((24, 12), "09:41", font=font("en", 28), fill="white")
    draw.rectangle((image.width - 90, 16, image.width - 30, 40), outline="white", width=3)
    draw.rectangle((image.width - 86, 20, image.width - 50, 36), fill="white")
    shot.paste(image, (0, bar))
    return shot


def degraded(image: Image.Image, *, scale: float = 0.7, quality: int = 50, blur: float = 0.6,
             crop: float = 0.03, screenshot: bool = False) -> bytes:
    """What a forwarded copy looks like: resized, blurred, cropped, recompressed as JPEG."""
    out = image
    if screenshot:
        out = status_bar(out)
    if crop:
        dx, dy = int(out.width * crop), int(out.height * crop)
        out = out.crop((dx, dy, out.width - dx, out.height - dy))
    out = out.resize((max(1, int(out.width * scale)), max(1, int(out.height * scale))),
                     Image.Resampling.BILINEAR)
    if blur:
        out = out.filter(ImageFilter.GaussianBlur(blur))
    return jpeg(out, quality)


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG claiming huge dimensions: a 1-bit image of zeros compresses to almost nothing."""
    buffer = io.BytesIO()
    Image.new("1", (width, height), 0).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def voice_note(text: str, language: str, *, speed: int = 150) -> bytes:
    """`text` spoken by espeak-ng in `language`, as an OGG/Opus voice note (48 kHz mono)."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", ESPEAK_VOICES[language], "-s", str(speed),
                        "-w", str(wav), text], check=True, capture_output=True)
        return _ffmpeg(["-i", str(wav), "-c:a", "libopus", "-b:a", "24k", "-ar", "48000",
                        "-ac", "1", "-f", "ogg"], tmp)


def long_silence_mp3(seconds: float) -> bytes:
    """`seconds` of silence as an 8 kb/s MP3 (three hours: 11 MB, made in a few seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        return _ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", str(seconds),
                        "-c:a", "libmp3lame", "-b:a", "8k", "-f", "mp3"], tmp)


def video(image: Image.Image, audio: bytes | None, seconds: float = 4.0) -> bytes:
    """An MP4 (H.264, AAC) showing `image` with `audio` as its sound track (or none)."""
    with tempfile.TemporaryDirectory() as tmp:
        still = Path(tmp) / "still.png"
        image.resize((image.width // 2 * 2, image.height // 2 * 2)).save(still)
        args = ["-loop", "1", "-framerate", "2", "-i", str(still)]
        if audio is not None:
            (Path(tmp) / "audio.ogg").write_bytes(audio)
            args += ["-i", str(Path(tmp) / "audio.ogg"), "-c:a", "aac", "-shortest"]
        args += ["-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", "2",
                 "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4"]
        return _ffmpeg(args, tmp)


def _ffmpeg(args: list[str], tmp: str) -> bytes:
    out = Path(tmp) / "out.bin"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args, str(out)],
                   check=True, capture_output=True)
    return out.read_bytes()
