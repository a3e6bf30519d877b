"""Natural-language understanding: what a resident wants, and in which language.

`build_parser()` returns Rasa (a separate service, see docs/nlu.md) backed by a built-in
classifier trained from the same Rasa data, or the built-in classifier alone.
"""

from nlu.builtin import BuiltinParser
from nlu.factory import build_parser
from nlu.language import detect_language
from nlu.rasa_client import RasaParser
from nlu.types import SUPPORTED_LANGUAGES, Intent, IntentParser, ParseResult

__all__ = [
    "SUPPORTED_LANGUAGES",
    "BuiltinParser",
    "Intent",
    "IntentParser",
    "ParseResult",
    "RasaParser",
    "build_parser",
    "detect_language",
]
