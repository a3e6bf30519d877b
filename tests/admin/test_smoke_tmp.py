from tests.admin.conftest import ask, csrf_of


async def test_smoke(runtime, moderator):
    await ask(runtime, "r1", "Lions escaped from the national park and walk in the market tonight")
    await ask(runtime, "r2", "Simba wametoroka kutoka hifadhi ya taifa na wanatembea sokoni usiku huu", "sw")
    for path in ["/admin/", "/admin/clusters/1", "/admin/clusters/1/answer", "/admin/knowledge",
                 "/admin/subscribers", "/admin/dashboard", "/admin/audit", "/admin/charts/per-day.svg",
                 "/admin/export/clusters.csv", "/admin/knowledge/new"]:
        r = await moderator.get(path)
        print(path, r.status_code, r.text[:300] if r.status_code != 200 else "")
    r = await moderator.get("/admin/")
    print(r.text[-3000:])
