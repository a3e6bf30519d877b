"""Everyday replies (ok, thanks, sawa, ठीक है, حسنا, 👍, "9") and the words that show a resident
really asks for a state-changing action.

A statistical classifier trained on a few hundred lines reads "ok" after "we will message you"
as "stop", and "please help my child is sick" as "delete my data". Two hand-written guards make
such guesses harmless, in every language we serve:
- `everyday_kind` recognises a message made only of acknowledgement, thanks or greeting words
  (or only digits, or only emoji); the conversation answers it kindly and changes nothing.
- `mentions_action` says whether the text contains a word that names the action an intent
  reading claims (delete, futa, मिटाओ, احذف, borrar, hapus ...); without one, the reading is not
  acted on. With one, the conversation still asks for a confirmation button.
Word lists, not a model: they are short, reviewable by a native speaker, and cannot drift.
"""

from __future__ import annotations

import enum
import unicodedata

from nlu.types import Intent

MAX_EVERYDAY_WORDS = 6


class Everyday(enum.StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"
    THANKS = "thanks"
    GREETING = "greeting"


_WORDS: dict[Everyday, str] = {
    Everyday.ACKNOWLEDGEMENT: """
        ok okay okey okk k kk okie oky fine good great cool nice alright right sure yes yeah yep
        yup ya no nope noted understood got it i see hmm hm mm so sad wow oh ah lol haha hahaha
        very well all will wait see done perfect super and
        sawa sawasawa ndio ndiyo naam hapana la poa safi nimeelewa nimekuelewa vizuri kweli
        sana mzuri shwari haya aisee
        ठीक है हाँ हां हा नहीं ना अच्छा ओके जी समझ गया गई बढ़िया सही बहुत
        theek thik thiik hai h haan han haa ha nahi nahin na accha acha achha acchha ji
        samajh gaya gayi badhiya sahi bahut hmm
        حسنا حسنًا حسناً تمام نعم لا اوكي أوكي اوك طيب ماشي مفهوم فهمت اكيد أكيد ممتاز جميل
        vale sí si no bueno ok perfecto claro entendido de acuerdo genial bien muy
        baik oke ok ya iya tidak nggak gak enggak siap sip mantap paham mengerti sudah oh begitu
        """,
    Everyday.THANKS: """
        thanks thank you thx ty tq tnx thanku thankyou much so very lot a god bless
        asante asanteni sana shukrani
        धन्यवाद शुक्रिया बहुत
        dhanyavaad dhanyawad dhanyavad shukriya sukriya bahut
        شكرا شكرًا شكراً جزيلا جزيلاً جزاك الله خيرا خير مشكور
        gracias muchas mil muchísimas
        terima kasih makasih trims banyak
        """,
    Everyday.GREETING: """
        hi hello hey hallo hii good morning evening afternoon there
        habari jambo mambo salama sasa hujambo shikamoo za asubuhi yako yenu gani
        नमस्ते नमस्कार हेलो
        namaste namaskar
        السلام عليكم سلام مرحبا مرحبًا اهلا أهلا صباح الخير مساء
        hola buenos buenas días dias tardes noches
        halo hai selamat pagi siang sore malam assalamualaikum
        """,
}
_VOCABULARY: dict[Everyday, frozenset[str]] = {
    kind: frozenset(words.split()) for kind, words in _WORDS.items()
}
# Which list a message made of words from several lists belongs to ("ok thanks" is thanks).
# the list covering most of its words wins; on a tie, earlier here wins ("ok thanks": thanks)
_PRECEDENCE = (Everyday.THANKS, Everyday.ACKNOWLEDGEMENT, Everyday.GREETING)


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().strip()


def _tokens(text: str) -> list[str]:
    """Words, with punctuation and symbols as separators (matras stay inside Devanagari words)."""
    spaced = "".join(
        " " if unicodedata.category(char)[0] in "PSZC" else char for char in _clean(text)
    )
    return spaced.split()


def is_symbols_only(text: str) -> bool:
    """Only emoji, pictographs, punctuation and spaces: 👍, 🙏🙏, ❤️, "?!"."""
    stripped = _clean(text)
    return bool(stripped) and not any(char.isalnum() for char in stripped)


def everyday_kind(text: str) -> Everyday | None:
    """The kind of everyday reply `text` is, or None when it may say something.

    Only digits ("9", "١٢"), only emoji, or at most six words all drawn from the lists above.
    """
    if len(text) > 200:
        return None
    if is_symbols_only(text):
        return Everyday.ACKNOWLEDGEMENT
    tokens = _tokens(text)
    if not tokens or len(tokens) > MAX_EVERYDAY_WORDS:
        return None
    if all(token.isdigit() for token in tokens):
        return Everyday.ACKNOWLEDGEMENT
    everyday = set().union(*_VOCABULARY.values())
    if not all(token in everyday for token in tokens):
        return None

    def covered(kind: Everyday) -> int:
        return sum(1 for token in tokens if token in _VOCABULARY[kind])

    return max(_PRECEDENCE, key=lambda kind: (covered(kind), -_PRECEDENCE.index(kind)))


# Stems that name an action, per intent, in en sw hi (both scripts) ar es id; matched inside
# the casefolded text. Only intents that change what we keep or send are guarded.
_ACTION_STEMS: dict[Intent, tuple[str, ...]] = {
    Intent.FORGET_ME: (
        "forget",
        "delete",
        "erase",
        "remove my",
        "my data",
        "my details",
        "my information",
        "futa",
        "sahau",
        "data yangu",
        "taarifa zangu",
        "मिटा",
        "हटा",
        "डिलीट",
        "भूल जा",
        "मेरा डेटा",
        "मेरी जानकारी",
        "mita",
        "delete",
        "bhool ja",
        "bhul ja",
        "mera data",
        "data hata",
        "احذف",
        "حذف",
        "امسح",
        "مسح",
        "انس",
        "بياناتي",
        "معلوماتي",
        "borra",
        "elimina",
        "olvida",
        "mis datos",
        "hapus",
        "lupakan",
        "data saya",
    ),
    Intent.STOP: (
        "stop",
        "quit",
        "cancel",
        "leave me",
        "don't message",
        "do not message",
        "no more",
        "sitisha",
        "simamisha",
        "acha kunitumia",
        "usinitumie",
        "koma",
        "बंद",
        "रोक",
        "रुको",
        "बस करो",
        "ruko",
        "bas karo",
        "मत भेज",
        "band kar",
        "band karo",
        "mat bhejo",
        "rok do",
        "roko",
        "توقف",
        "أوقف",
        "اوقف",
        "إيقاف",
        "ايقاف",
        "لا ترسل",
        "كفى",
        "para ",
        "parar",
        "basta",
        "detener",
        "deja de",
        "no me envíes",
        "no me mandes",
        "baja",
        "berhenti",
        "hentikan",
        "jangan kirim",
        "stop",
    ),
    Intent.SUBSCRIBE: (
        "subscri",
        "update",
        "alert",
        "notif",
        "news",
        "jiunge",
        "jisajili",
        "taarifa",
        "habari za",
        "nijulishe",
        "सदस्य",
        "अपडेट",
        "सूचना",
        "खबर",
        "subscribe",
        "update",
        "khabar",
        "suchna",
        "اشترك",
        "اشتراك",
        "تحديث",
        "تنبيه",
        "أخبار",
        "اخبار",
        "suscrib",
        "alerta",
        "noticia",
        "actualizac",
        "avisa",
        "langgan",
        "kabar",
        "berita",
        "info",
        "pemberitahuan",
    ),
    Intent.UNSUBSCRIBE: (
        "unsubscri",
        "stop",
        "no more",
        "cancel",
        "jiondo",
        "ondoa",
        "sitisha",
        "acha",
        "बंद",
        "हटा",
        "अनसब्सक्राइब",
        "band",
        "hata",
        "unsubscribe",
        "إلغاء",
        "الغاء",
        "توقف",
        "أوقف",
        "اوقف",
        "baja",
        "cancela",
        "dejar de",
        "no quiero",
        "berhenti",
        "batal",
        "hentikan",
        "stop",
    ),
}
GUARDED_INTENTS = frozenset(_ACTION_STEMS)


def mentions_action(text: str, intent: Intent) -> bool:
    """True when `text` names the action `intent` would take (or `intent` is not guarded)."""
    stems = _ACTION_STEMS.get(intent)
    if stems is None:
        return True
    clean = f"{_clean(text)} "
    return any(stem in clean for stem in stems)
