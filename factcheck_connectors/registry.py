"""Connector kinds by name: the built-ins, plus third-party ones from the entry point group
`rumourbot.connectors` (each entry point names a class with `spec` and `from_config`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib.metadata import entry_points

from factcheck_connectors.base import (
    Connector,
    ConnectorContext,
    ConnectorFactory,
    SourceInvalid,
)
from factcheck_connectors.claimreview import ClaimReviewFeed, ClaimReviewPage
from factcheck_connectors.datacommons import DataCommonsFeed
from factcheck_connectors.files import FileSource
from factcheck_connectors.google import GoogleFactCheck
from factcheck_connectors.push import PushSource
from factcheck_connectors.rss import RssFeed

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "rumourbot.connectors"

BUILTIN: dict[str, type[ConnectorFactory]] = {
    "google_factcheck": GoogleFactCheck,
    "claimreview_page": ClaimReviewPage,
    "claimreview_feed": ClaimReviewFeed,
    "rss": RssFeed,
    "csv": FileSource,
    "push": PushSource,
    "datacommons": DataCommonsFeed,
}


def available() -> dict[str, type[ConnectorFactory]]:
    """Built-in kinds, then installed plugins (a plugin cannot replace a built-in)."""
    kinds = dict(BUILTIN)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in kinds:
            continue
        try:
            kinds[entry.name] = entry.load()
        except Exception:  # a broken plugin must not stop the bot
            log.exception("could not load connector plugin %s", entry.name)
    return kinds


def build(kind: str, config: Mapping[str, str], context: ConnectorContext) -> Connector:
    factory = available().get(kind)
    if factory is None:
        raise SourceInvalid(
            f"unknown source kind {kind!r}; known: {', '.join(sorted(available()))}"
        )
    return factory.from_config(config, context)
