"""Data Commons' open ClaimReview feed (many fact-checkers, no key), filtered by language.

.venv/bin/python examples/datacommons_source.py real     # downloads the real feed (large)
"""

import asyncio
import json
import sys

from _local import serve, services, show

from factcheck_connectors import manage

SAMPLE = {
    "@context": "http://schema.org",
    "@type": "DataFeed",
    "dataFeedElement": [
        {
            "@type": "DataFeedItem",
            "item": [
                {
                    "@type": "ClaimReview",
                    "url": "https://checker.example/en/salt-cure",
                    "claimReviewed": "Gargling salt water prevents the new flu",
                    "inLanguage": "en",
                    "author": {"@type": "Organization", "name": "Checker"},
                    "reviewRating": {"@type": "Rating", "alternateName": "False"},
                }
            ],
        }
    ],
}


async def main() -> None:
    config = {"languages": "en", "max_age_days": "365"}
    if sys.argv[1:] != ["real"]:
        config = {"url": serve(json.dumps(SAMPLE)), "languages": "en"}
    async with services() as svc:
        status = await manage.add_source(svc, "datacommons", "datacommons", config)
        print(f"added {status.name}: {status.items_total} fact-checks")
        await show(svc, "does salt water prevent the flu")


asyncio.run(main())
