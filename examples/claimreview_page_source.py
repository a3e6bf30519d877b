"""Fact-check article pages with ClaimReview markup (JSON-LD or microdata).

.venv/bin/python examples/claimreview_page_source.py [PAGE_URL ...]
"""

import asyncio
import sys

from _local import serve, services, show

from factcheck_connectors import manage

SAMPLE = """<html><head><script type="application/ld+json">{"@context": "https://schema.org",
"@type": "ClaimReview", "url": "https://factdesk.example/checks/bridge",
"claimReviewed": "The Nyali bridge will be closed to all traffic for six months",
"author": {"@type": "Organization", "name": "Fact Desk"},
"reviewRating": {"@type": "Rating", "alternateName": "False"}}</script>
</head><body></body></html>"""


async def main() -> None:
    urls = " ".join(sys.argv[1:]) or serve(SAMPLE, "text/html")
    async with services() as svc:
        status = await manage.add_source(svc, "claimreview_page", "fact-desk-pages", {"urls": urls})
        print(f"added {status.name}: {status.items_total} fact-checks")
        await show(svc, "nyali bridge closed for six months?")


asyncio.run(main())
