"""Read the Rasa training data (the single source of truth) for the built-in classifier.

Files are Rasa 3 NLU YAML: `nlu:` holds `- intent: name` blocks whose `examples: |` is a
list of `- text` lines, with entity annotations `[text](entity)` or
`[text]{"entity": "e", "value": "v"}`. Each file under `nlu/rasa/data/nlu/` is named after
the language of its examples (`sw.yml`), which lets us build per-language word lists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).resolve().parent / "rasa" / "data"
NLU_DIR = DATA_DIR / "nlu"

# [surface](entity) or [surface](entity:value) or [surface]{"entity": ..., "value": ...}
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<short>[^)]+)\)|(?P<json>\{[^}]*\}))")


@dataclass(frozen=True)
class EntitySpan:
    entity: str
    text: str
    value: str


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    language: str
    entities: tuple[EntitySpan, ...] = ()


def strip_annotations(line: str) -> tuple[str, tuple[EntitySpan, ...]]:
    """The plain text of an annotated example and the entities it marks."""
    spans: list[EntitySpan] = []

    def _replace(match: re.Match[str]) -> str:
        text = match.group("text")
        entity, value = _entity_and_value(match, text)
        if entity:
            spans.append(EntitySpan(entity=entity, text=text, value=value))
        return text

    return _ANNOTATION.sub(_replace, line), tuple(spans)


def _entity_and_value(match: re.Match[str], text: str) -> tuple[str, str]:
    if match.group("short"):
        entity, _, value = match.group("short").partition(":")
        return entity.strip(), (value.strip() or text)
    try:
        data = json.loads(match.group("json"))
    except json.JSONDecodeError:
        return "", text
    return str(data.get("entity", "")), str(data.get("value", text))


def parse_nlu_yaml(source: str, language: str) -> Iterator[Example]:
    """Examples from the text of one Rasa NLU YAML file (other keys are ignored)."""
    document = yaml.safe_load(source) or {}
    for block in document.get("nlu") or []:
        intent = block.get("intent") if isinstance(block, dict) else None
        if not intent:
            continue  # synonyms, regexes and lookup tables are Rasa's business
        for raw in str(block.get("examples", "")).splitlines():
            line = raw.strip()
            if not line.startswith("- "):
                continue
            text, spans = strip_annotations(line[2:].strip())
            if text:
                yield Example(text=text, intent=str(intent), language=language, entities=spans)


def load_examples(path: Path = NLU_DIR) -> list[Example]:
    """Every example under `path` (a file or a folder of `<language>.yml` files)."""
    files: Iterable[Path] = sorted(path.glob("*.yml")) if path.is_dir() else [path]
    examples: list[Example] = []
    for file in files:
        examples.extend(parse_nlu_yaml(file.read_text(encoding="utf-8"), file.stem))
    if not examples:
        raise ValueError(f"no NLU training examples found in {path}")
    return examples
