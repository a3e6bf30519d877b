"""A fact-checker's ClaimReview feed (a JSON list of ClaimReview objects).

    .venv/bin/python examples/claimreview_feed_source.py [FEED_URL]

Our own /feeds/claimreview.json is such a feed: point another rumourbot at it.
"""

import asyncio
import json
import sys

from _local import serve, services, show

from factcheck_connectors import manage

SAMPLE = [
    {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": "https://factdesk.example/checks/fuel",
        "claimReviewed": "Fuel prices will double from the first of next month",
        "author": {"@type": "Organization", "name": "Fact Desk"},
        "inLanguage": "en",
        "reviewRating": {
            "@type": "Rating",
            "ratingValue": 2,
            "bestRating": 5,
            "worstRating": 1,
            "alternateName": "Misleading",
        },
    }
]


async def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else serve(json.dumps(SAMPLE))
    async with services() as svc:
        status = await manage.add_source(svc, "claimreview_feed", "fact-desk", {"url": url})
        print(f"added {status.name}: {status.items_total} fact-checks")
        await show(svc, "will fuel prices double next month")


asyncio.run(main())
