"""The web benchmark: the app served by uvicorn in its own process over an analysed workspace, as a
user meets it: map tiles while panning and zooming, list pages, single items, the cockpit in Chromium.

``python -m landrenew.bench_web WORKSPACE [--into BENCHMARKS.md]`` prints the results as JSON (and
writes them into the file's web section); ``landrenew.bench`` runs it on each demo city it builds. Every request is timed
at the client, one at a time, from a server started fresh (its caches empty).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import func, select

#: the targets of issue #5, in milliseconds
TILE_P95_MS = 100.0
QUERY_P95_MS = 100.0
COCKPIT_PAINT_MS = 2000.0
#: zoom levels a user pans at, and the tiles of one 1024 × 768 view
ZOOMS = range(10, 17)
VIEW = (4, 3)
CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(workspace: Path) -> Iterator[str]:
    """``landrenew serve`` on a free port in a child process; yields its base URL."""
    port = _free_port()
    exe = Path(sys.executable).with_name("landrenew")
    proc = subprocess.Popen([str(exe), "serve", "--workspace", str(workspace), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # still busy with a request
            proc.kill()
            proc.wait()


def percentiles(ms: list[float]) -> dict:
    """n, p50, p95 and max of a list of milliseconds."""
    s = sorted(ms)
    at = lambda q: s[min(len(s) - 1, math.ceil(q * len(s)) - 1)]  # noqa: E731 (nearest-rank percentile)
    return {"n": len(s), "p50": at(0.50), "p95": at(0.95), "max": s[-1]}


def _timed(client: httpx.Client, url: str) -> tuple[float, httpx.Response]:
    t = time.perf_counter()
    r = client.get(url)
    ms = (time.perf_counter() - t) * 1000
    if r.status_code not in (200, 204):  # 204: an empty tile
        raise RuntimeError(f"GET {url}: HTTP {r.status_code} {r.text[:200]}")
    return ms, r


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    r = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)


def map_session(centres: list[tuple[float, float]]) -> list[tuple[int, int, int]]:
    """The tiles a user fetches looking at each centre at every zoom of :data:`ZOOMS`, in order
    (repeats left in: the server's cache answers them as it would a panning user)."""
    out = []
    for z in ZOOMS:
        for lon, lat in centres:
            cx, cy = _tile_xy(lon, lat, z)
            out += [(z, cx + dx, cy + dy) for dy in range(-1, VIEW[1] - 1) for dx in range(-1, VIEW[0] - 1)]
    return out


def _sample(workspace: Path, n: int, seed: int) -> dict:
    """Random parcel centres, parcel keys, a firm-name fragment and a district of the workspace."""
    from landrenew.store import Workspace
    from landrenew.store.models import Parcel, RunFirm, RunParcel

    rng = random.Random(seed)
    ws = Workspace.open(workspace)
    p, rp, rf = Parcel.__table__, RunParcel.__table__, RunFirm.__table__
    with ws.engine.connect() as conn:
        top = conn.scalar(select(func.max(p.c.id)))
        ids = [rng.randint(1, top) for _ in range(n * 3)]
        rows = conn.execute(select(p.c.key, p.c.minx, p.c.miny, p.c.maxx, p.c.maxy, p.c.district_code)
                            .where(p.c.id.in_(ids), p.c.minx.is_not(None))).all()[:n]
        run = conn.scalar(select(func.max(rp.c.run_id)))
        names = conn.execute(select(rf.c.name).where(rf.c.run_id == run, rf.c.name.is_not(None)).limit(200)).scalars().all()
    ws.engine.dispose()
    word = rng.choice([x for x in names if len(x) >= 6])
    return {"centres": [((r.minx + r.maxx) / 2, (r.miny + r.maxy) / 2) for r in rows],
            "keys": [r.key for r in rows], "words": [word[2:4], word[2:6]], "district": rows[0].district_code}


def bench_password() -> str:
    """A random password the password policy always accepts (letters, a symbol and a digit)."""
    return secrets.token_urlsafe(12) + "-7"


def _bench_user(workspace: Path) -> tuple[str, str, str]:
    """A city administrator for the benchmark: (name, password, API token)."""
    from landrenew.policy import load_profile
    from landrenew.store import Workspace
    from landrenew.users import add_user, create_token

    ws = Workspace.open(workspace)
    name, password = f"bench{secrets.token_hex(3)}", bench_password()
    add_user(ws.engine, load_profile(), name, "city_admin", password)
    token = create_token(ws.engine, name, "benchmark")
    ws.engine.dispose()
    return name, password, token


def list_urls(district: str, words: list[str]) -> list[str]:
    """The list queries of the lists page: first and later pages, sorts, filters, text searches."""
    out = []
    for name in ("parcels", "firms", "recommendations", "units"):
        base = f"/api/lists/{name}"
        out += [base, f"{base}?page=40", f"{base}?sort=-area_mu" if name != "firms" else f"{base}?sort=score",
                f"{base}?district_code={district}", *(f"{base}?q={w}" for w in words)]
        if name != "firms":
            out.append(f"{base}?tags=危")
    return out


def item_urls(keys: list[str]) -> list[str]:
    """Single items: a parcel's explanation, its OGC item, and a search by the end of its code."""
    out = []
    for k in keys:
        out += [f"/api/explain/parcel/{k}", f"/ogc/collections/parcels/items/{k}", f"/api/map/search?q={k[-8:]}"]
    return out


def _run(client: httpx.Client, urls: list[str], slowest: list | None = None) -> list[float]:
    """Each URL once; the three slowest go into ``slowest``."""
    ms = [_timed(client, u)[0] for u in urls]
    if slowest is not None:
        slowest += sorted(((u, round(m, 1)) for u, m in zip(urls, ms, strict=True)), key=lambda x: -x[1])[:3]
    return ms


def cockpit_paint(base: str, name: str, password: str) -> dict:
    """Sign in, open the cockpit in a fresh Chromium page: first contentful paint and the time until
    the target cards are drawn (ms from navigation start)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        ctx = browser.new_context(viewport={"width": 1440, "height": 960}, locale="zh-CN", bypass_csp=True)
        page = ctx.new_page()
        page.goto(f"{base}/login")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        out = []
        for _ in range(3):
            page.goto("about:blank")
            page.goto(f"{base}/")
            page.wait_for_selector("#targets .card")
            out.append(page.evaluate("""() => ({
                fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
                cards: performance.now()})"""))
        browser.close()
    return {"first_paint_ms": max(o["fcp"] for o in out), "cards_ms": max(o["cards"] for o in out)}


def measure(workspace: Path, views: int = 8, seed: int = 7) -> dict:
    """Every measurement over ``workspace`` (analysed): tiles, lists, items, cockpit."""
    sample = _sample(workspace, views * 3, seed)
    name, password, token = _bench_user(workspace)
    tiles = map_session(sample["centres"][:views])
    out: dict = {}
    with served(workspace) as base, httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                                                 timeout=120) as client:
        out["first_request_ms"] = _timed(client, "/api/meta")[0]
        while not client.get("/api/health").json()["warm"]:  # the server fills its caches on start
            time.sleep(0.5)
        out["warm_s"] = client.get("/api/health").json()["warm_seconds"]
        for layer in ("parcels", "controls"):
            ms, by_zoom = [], {}
            for z, x, y in tiles:
                m = _timed(client, f"/tiles/{layer}/{z}/{x}/{y}.pbf")[0]
                ms.append(m)
                by_zoom.setdefault(z, []).append(m)
            out[f"tiles_{layer}"] = percentiles(ms) | {"by_zoom": {z: percentiles(v)["p95"] for z, v in by_zoom.items()}}
        out["list_slowest"], out["item_slowest"] = [], []
        out["lists"] = percentiles(_run(client, list_urls(sample["district"], sample["words"]), out["list_slowest"]))
        out["items"] = percentiles(_run(client, item_urls(sample["keys"]), out["item_slowest"]))
        bbox = [f"/ogc/collections/flagged/items?bbox={c[0] - .01},{c[1] - .01},{c[0] + .01},{c[1] + .01}&limit=100"
                for c in sample["centres"][:views]]
        out["ogc_bbox"] = percentiles(_run(client, bbox))
        out["cockpit"] = (cockpit_paint(base, name, password) if shutil.which(CHROMIUM)
                          else {"skipped": "no chromium"})
    _retire(workspace, name)
    return out


def _retire(workspace: Path, name: str) -> None:
    """Disable the benchmark's administrator (its sessions and token end with it)."""
    from landrenew.store import Workspace
    from landrenew.users import set_disabled

    ws = Workspace.open(workspace)
    set_disabled(ws.engine, name)
    ws.engine.dispose()


def verdict(value: float, target: float) -> str:
    return "✓" if value <= target else "✗"


def table(parcels: int, m: dict) -> list[str]:
    """The BENCHMARKS.md section of one measurement."""
    tp, tc, li, it = m["tiles_parcels"], m["tiles_controls"], m["lists"], m["items"]
    zooms = " · ".join(f"z{z} {v:.0f}" for z, v in tp["by_zoom"].items())
    cockpit = m["cockpit"]
    paint = (f"{cockpit['first_paint_ms']:.0f} ms {verdict(cockpit['first_paint_ms'], COCKPIT_PAINT_MS)} "
             f"(target cards drawn {cockpit['cards_ms']:.0f} ms)" if "first_paint_ms" in cockpit
             else cockpit.get("skipped", "–"))
    return [
        "| requests | n | p50 ms | p95 ms | max ms | target p95 |",
        "|---|---:|---:|---:|---:|---|",
        f"| tiles `parcels` ({parcels:,}) | {tp['n']} | {tp['p50']:.0f} | **{tp['p95']:.0f}** | {tp['max']:.0f} | "
        f"≤ {TILE_P95_MS:.0f} {verdict(tp['p95'], TILE_P95_MS)} |",
        f"| tiles `controls` | {tc['n']} | {tc['p50']:.0f} | **{tc['p95']:.0f}** | {tc['max']:.0f} | "
        f"≤ {TILE_P95_MS:.0f} {verdict(tc['p95'], TILE_P95_MS)} |",
        f"| list pages | {li['n']} | {li['p50']:.0f} | **{li['p95']:.0f}** | {li['max']:.0f} | "
        f"≤ {QUERY_P95_MS:.0f} {verdict(li['p95'], QUERY_P95_MS)} |",
        f"| items (explanation, OGC item, search) | {it['n']} | {it['p50']:.0f} | **{it['p95']:.0f}** | "
        f"{it['max']:.0f} | ≤ {QUERY_P95_MS:.0f} {verdict(it['p95'], QUERY_P95_MS)} |",
        f"| OGC items in a 2 km box | {m['ogc_bbox']['n']} | {m['ogc_bbox']['p50']:.0f} | "
        f"**{m['ogc_bbox']['p95']:.0f}** | {m['ogc_bbox']['max']:.0f} | |",
        "",
        f"Parcel tiles p95 by zoom (ms): {zooms}. Cockpit first contentful paint: {paint}. "
        f"Caches warmed in {m['warm_s']:.1f} s after start. Slowest list requests: "
        + ", ".join(f"`{u}` {ms:.0f} ms" for u, ms in m["list_slowest"][:3])
        + "; slowest items: " + ", ".join(f"`{u}` {ms:.0f} ms" for u, ms in m["item_slowest"][:3]) + ".",
    ]


TITLE = "## Web app (`landrenew serve` over the analysed demo city)"


def section(results: list[tuple[int, dict]]) -> list[str]:
    """The web section of BENCHMARKS.md for (parcels, measurement) pairs."""
    out = [TITLE, "",
           "The server runs in its own process, started fresh; each request is timed at the client, one at a "
           f"time. Tiles: {len(ZOOMS)} zoom levels × map views around random parcels × the {VIEW[0]}×{VIEW[1]} "
           "tiles of a 1024×768 view (a view's repeats are answered by the tile cache, as a panning user's "
           "are). List pages: each list's first page, page 40, a sort, a district filter, a tag filter, and "
           "text searches of two and four characters of a firm's name. Items: a parcel's explanation, its OGC "
           "item and a search by part of its code. "
           "Cockpit: sign in, then open the cockpit in a fresh Chromium page (first contentful paint, and when "
           "the target cards are drawn), the slowest of three.", ""]
    for parcels, m in results:
        out += [f"**{parcels:,} parcels**", "", *table(parcels, m), ""]
    return out


def replace_section(path: Path, lines: list[str], title: str = TITLE) -> None:
    """Put ``lines`` in place of the section called ``title`` of ``path`` (or append them)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    body = "\n".join(lines).rstrip("\n")
    start = text.find(title)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = text.find("\n## ", start + len(title))
        rest = text[end + 1:] if end >= 0 else ""
        text = text[:start] + body + ("\n\n" + rest if rest else "")
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main(argv: list[str] | None = None, report: Callable[[str], None] = print) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("workspace", type=Path)
    ap.add_argument("--views", type=int, default=8, help="map views per zoom level")
    ap.add_argument("--into", type=Path, help="write the results into this BENCHMARKS.md's web section")
    args = ap.parse_args(argv)
    m = measure(args.workspace, args.views)
    report(json.dumps(m, ensure_ascii=False))
    if args.into:
        replace_section(args.into, section([(_parcels(args.workspace), m)]))


def _parcels(workspace: Path) -> int:
    from landrenew.store import Workspace
    from landrenew.store.models import Parcel

    ws = Workspace.open(workspace)
    with ws.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Parcel.__table__)))


if __name__ == "__main__":
    main()
