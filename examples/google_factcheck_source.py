"""Google Fact Check Tools API: periodic pulls by publisher and language, and a live lookup.

    RUMOURBOT_GOOGLE_FACTCHECK_API_KEY=... .venv/bin/python examples/google_factcheck_source.py real

Without `real`, a loopback server answers in the documented claims:search shape.
"""

import asyncio
import json
import os
import sys

from _local import serve, services, show

from factcheck_connectors import manage
from factcheck_connectors.live import live_lookup

SAMPLE = {
    "claims": [
        {
            "text": "Drinking hot water every fifteen minutes cures the virus",
            "claimant": "Social media posts",
            "claimReview": [
                {
                    "publisher": {"name": "Africa Check", "site": "africacheck.org"},
                    "url": "https://africacheck.org/fact-checks/hot-water",
                    "title": "No, hot water does not cure the virus",
                    "reviewDate": "2026-10-30T08:00:00Z",
                    "textualRating": "False",
                    "languageCode": "en",
                }
            ],
        }
    ]
}


async def main() -> None:
    overrides = {}
    if sys.argv[1:] != ["real"]:
        overrides = {
            "google_factcheck_url": serve(json.dumps(SAMPLE)),
            "google_factcheck_api_key": "sample-key",
        }
    elif not os.environ.get("RUMOURBOT_GOOGLE_FACTCHECK_API_KEY"):
        sys.exit("set RUMOURBOT_GOOGLE_FACTCHECK_API_KEY")
    else:
        overrides = {"google_factcheck_api_key": os.environ["RUMOURBOT_GOOGLE_FACTCHECK_API_KEY"]}
    async with services(**overrides) as svc:
        status = await manage.add_source(
            svc,
            "google_factcheck",
            "africa-check",
            {"publisher_site": "africacheck.org", "language": "en"},
        )
        print(f"added {status.name}: {status.items_total} fact-checks")
        await show(svc, "does hot water cure the virus")
        found = await live_lookup(svc, "hot water every fifteen minutes cures the virus", "en", 1.5)
        print("live lookup:", [(i.verdict, i.source_url) for i in found])


asyncio.run(main())
