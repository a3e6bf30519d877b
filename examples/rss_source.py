"""A city's press-release feed (RSS or Atom) as a source of statements.

.venv/bin/python examples/rss_source.py [FEED_URL]
"""

import asyncio
import sys

from _local import serve, services, show

from factcheck_connectors import manage

SAMPLE = """<?xml version="1.0"?><rss version="2.0"><channel><title>City press office</title>
<item><title>No city-wide curfew has been declared</title><guid>press-118</guid>
<link>https://city.example/press/no-curfew</link><pubDate>Wed, 04 Nov 2026 18:30:00 +0300</pubDate>
<description>Messages about a 6pm curfew are false.</description></item></channel></rss>"""


async def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else serve(SAMPLE, "application/rss+xml")
    async with services() as svc:
        config = {"url": url, "topic": "security"}
        status = await manage.add_source(svc, "rss", "city-press", config)
        print(f"added {status.name}: {status.items_total} statements")
        report = await manage.run_source_now(svc, "city-press")  # conditional GET: 304
        print(f"second run: {report.fetched} fetched, ok={report.ok}")
        await show(svc, "is there a curfew tonight at 6pm")


asyncio.run(main())
