"""A city CMS pushing statements to POST /api/sources/{name}/statements with its token.

.venv/bin/python examples/push_source.py
"""

import asyncio

import httpx
from _local import services, show
from starlette.applications import Starlette

from factcheck_connectors import manage
from factcheck_connectors.web import routes


async def main() -> None:
    async with services() as svc:
        status = await manage.add_source(svc, "push", "cms", {"language": "en"})
        print(f"push token for 'cms' (shown once): {status.token}")
        app = Starlette(routes=routes(svc))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1"
        ) as cms:
            answer = await cms.post(
                "/api/sources/cms/statements",
                headers={"Authorization": f"Bearer {status.token}"},
                json={
                    "statements": [
                        {
                            "id": "n-1",
                            "verdict": "false",
                            "claim": "National exams are postponed to January",
                            "explanation": "Exams go ahead as planned.",
                        }
                    ]
                },
            )
            print(answer.status_code, answer.json())
        await show(svc, "are the national exams postponed")


asyncio.run(main())
