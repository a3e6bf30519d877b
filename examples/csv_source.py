"""Statements from a CSV (or JSONL) file kept by the city's team; removed rows are retired.

.venv/bin/python examples/csv_source.py [PATH_OR_URL]
"""

import asyncio
import sys
import tempfile
from pathlib import Path

from _local import services, show

from factcheck_connectors import manage

SAMPLE = """id,claim,verdict,explanation,url,topic
st-1,The city will charge residents for rubbish bags from January,false,Rubbish bags stay free.,https://city.example/st-1,
"""


async def main(location: str) -> None:
    async with services() as svc:
        status = await manage.add_source(svc, "csv", "city-csv", {"location": location})
        print(f"added {status.name}: {status.items_total} statements")
        await show(svc, "will we pay for rubbish bags from january")


with tempfile.TemporaryDirectory() as tmp:
    if len(sys.argv) > 1:
        asyncio.run(main(sys.argv[1]))
    else:
        sample = Path(tmp) / "statements.csv"
        sample.write_text(SAMPLE)
        asyncio.run(main(str(sample)))
