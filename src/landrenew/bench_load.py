"""The load test: many users at once against ``landrenew serve``, driven by locust in library mode.

``python -m landrenew.bench_load WORKSPACE [--users 50] [--spawn-rate 10] [--duration 120]
[--think 1 4] [--comment-share 0.05] [--into BENCHMARKS.md]`` serves WORKSPACE (analysed) on a
free loopback port in its own process (:func:`landrenew.bench_web.served`), adds a city
administrator, a city analyst and a district officer per district, and lets the simulated users
loose: each signs in with its own session, then pans the map (parcel and control tiles at zooms
10–16, its district's parcels for an officer), opens list pages (each tag, sorts, district filter,
paging, text search), single items (a parcel's explanation, its OGC item, a search by part of its
code) and cases (list, detail, history; a small share comments on a case, each simulated user on
cases of its own so no edit is ever stale). The comments stay in the workspace; the accounts are
disabled at the end.

It prints the results as JSON on its last line of output and, with ``--into``, writes them into
the file's "API under load" section. Any answer but 2xx (or 304) is a failure, and so is an error
in a simulated user. Needs locust (a dev tool: ``pip install locust``); its users are greenlets,
so the load generator is one Python process sharing the machine's cores with the server.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import secrets
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import gevent
import httpx
import psutil
from gevent.event import Event
from gevent.pool import Pool
from locust import events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment
from locust.stats import StatsEntry
from sqlalchemy import func, select

from landrenew.bench_web import (
    VIEW,
    ZOOMS,
    _parcels,
    _retire,
    _sample,
    _tile_xy,
    bench_password,
    item_urls,
    replace_section,
    served,
)

TITLE = "## API under load (locust)"
#: request groups, in the order they are reported
GROUPS = ("sign-in", "tiles", "lists", "items", "cases", "comments")
#: task weights: map moves, list pages, items, case visits; seconds between a user's actions
WEIGHTS = {"map": 5, "lists": 3, "items": 2, "cases": 2}
THINK_S = (1.0, 4.0)
#: a browser fetches this many tiles at once and keeps them this long (the tiles' max-age)
TILE_CONNECTIONS = 6
TILE_MAX_AGE_S = 30.0
#: the share of case visits that end with a comment
COMMENT_SHARE = 0.05
COMMENT = "压力测试意见 load-test comment (landrenew.bench_load)"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Account:
    """A user of the workspace the simulated users sign in as."""

    name: str
    password: str
    role: str
    district: str | None = None


@dataclass
class Plan:
    """What the simulated users pick from: accounts, parcels and cases by district, search words,
    the lists' sortable columns and the profile's tags."""

    accounts: list[Account]
    parcels: dict[str, list[tuple[str, float, float]]]  # district → (key, lon, lat)
    cases: dict[str, list[str]]  # district → case numbers
    words: list[str]
    sorts: dict[str, list[str]] = field(default_factory=dict)  # list → sortable columns
    tagged: set[str] = field(default_factory=set)  # lists with a tag filter
    tags: str = ""
    users: int = 1
    comment_share: float = COMMENT_SHARE
    think: tuple[float, float] = THINK_S
    seed: int = 7


def make_accounts(workspace: Path) -> list[Account]:
    """A city administrator, a city analyst and an officer of every district (new, random names)."""
    from landrenew.policy import load_profile
    from landrenew.store import Workspace
    from landrenew.users import add_user

    profile, ws = load_profile(), Workspace.open(workspace)
    tag, out = secrets.token_hex(3), []
    roles = [("city_admin", None), ("city_analyst", None)]
    for role, district in roles + [("district_officer", d) for d in profile.city.district_codes]:
        acc = Account(f"load{tag}{len(out)}", bench_password(), role, district)
        add_user(ws.engine, profile, acc.name, role, acc.password, district=district)
        out.append(acc)
    ws.engine.dispose()
    return out


def make_plan(workspace: Path, accounts: list[Account], users: int, seed: int) -> Plan:
    """Random parcels (with their districts), case numbers, firm-name fragments of ``workspace``."""
    from landrenew.store import Workspace
    from landrenew.store.models import ClearanceCase, Parcel, RunFirm

    rng = random.Random(seed)
    sample = _sample(workspace, 600, seed)
    p, cc, rf = Parcel.__table__, ClearanceCase.__table__, RunFirm.__table__
    ws = Workspace.open(workspace)
    with ws.engine.connect() as conn:
        district = dict(conn.execute(select(p.c.key, p.c.district_code)
                                     .where(p.c.key.in_(sample["keys"]))).all())
        cases = conn.execute(select(cc.c.case_no, cc.c.district_code)).all()
        run = conn.scalar(select(func.max(rf.c.run_id)))
        names = conn.execute(select(rf.c.name).where(rf.c.run_id == run, rf.c.name.is_not(None))
                             .limit(2000)).scalars().all()
    ws.engine.dispose()
    parcels: dict[str, list] = defaultdict(list)
    for key, (lon, lat) in zip(sample["keys"], sample["centres"], strict=True):
        parcels[district[key]].append((key, lon, lat))
    by_district: dict[str, list] = defaultdict(list)
    for no, d in cases:
        by_district[d].append(no)
    long = [n for n in names if len(n) >= 6] or list(names)
    picked = rng.sample(long, min(20, len(long)))
    words = sample["words"] + [n[a:b] for n in picked for a, b in ((2, 4), (2, 6))]
    return Plan(accounts, dict(parcels), dict(by_district), sorted(set(words)), users=users,
                seed=seed)


@contextmanager
def signed_in(base: str, account: Account) -> Iterator[httpx.Client]:
    """An httpx client signed in as ``account`` through the login form."""
    with httpx.Client(base_url=base, timeout=120) as c:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
        r = c.post("/login", data={"username": account.name, "password": account.password,
                                   "csrf_token": csrf})
        if r.status_code != 303:
            raise RuntimeError(f"signing in as {account.name}: HTTP {r.status_code}")
        yield c


def read_catalogue(client: httpx.Client, plan: Plan) -> None:
    """The lists' sortable columns and the profile's tags, as the lists page reads them."""
    for spec in client.get("/api/lists").raise_for_status().json()["lists"]:
        plan.sorts[spec["name"]] = [col["key"] for col in spec["columns"] if col["sort"]]
        if any(col["filter"] == "tags" for col in spec["columns"]):
            plan.tagged.add(spec["name"])
    meta = client.get("/api/meta").raise_for_status().json()
    plan.tags = "".join(t["char"] for t in meta["tags"])


def _ok(status: int) -> bool:
    return 200 <= status < 300 or status == 304


class LandUser(FastHttpUser):
    """A signed-in user of the web app: pans the map, reads lists, items and cases."""

    abstract = True
    plan: Plan
    counter: Iterator[int]
    concurrency = TILE_CONNECTIONS

    def wait_time(self) -> float:
        """Seconds of thought between two actions."""
        return self.rng.uniform(*self.plan.think)

    # ---------------------------------------------------------------- helpers

    def _get(self, group: str, what: str, url: str) -> dict | None:
        """GET ``url`` as request ``group what``; the JSON body of a 200 (else None)."""
        with self.client.get(url, name=f"{group} {what}", catch_response=True) as r:
            if not _ok(r.status_code):
                r.failure(f"HTTP {r.status_code}: {(r.text or '')[:200]}")
                return None
            r.success()
            ctype = r.headers.get("content-type", "") if r.headers else ""
            json_200 = r.status_code == 200 and ctype.startswith("application/json")
            return r.json() if json_200 else None

    def _scope(self) -> str:
        """A district to look at: the officer's own, else any with parcels."""
        return self.account.district or self.rng.choice(sorted(self.plan.parcels))

    # ---------------------------------------------------------------- sign-in

    def on_start(self) -> None:
        """Sign in with the login form (a session of its own), keep the session's CSRF token, and
        look once at the map, a list, an item and a case."""
        self.index = next(self.counter)
        plan = self.plan
        self.rng = random.Random(plan.seed * 10_000 + self.index)
        city = [a for a in plan.accounts if a.district is None]
        officers = [a for a in plan.accounts if a.district in plan.parcels]
        pool = city if self.index % 2 == 0 or not officers else officers
        self.account = pool[(self.index // 2) % len(pool)]
        self.view: tuple[int, int, int] | None = None
        self.fetched: dict[tuple, float] = {}
        # the cases only this simulated user comments on: no other can make its version stale
        self.own_cases = [no for d, nos in sorted(plan.cases.items()) for no in nos
                          if self.account.district in (None, d)
                          and zlib.crc32(no.encode()) % plan.users == self.index]
        self.csrf = ""
        with self.client.get("/login", name="sign-in form", catch_response=True) as r:
            found = re.search(r'name="csrf_token" value="([^"]+)"', r.text or "")
            if not found:
                r.failure(f"HTTP {r.status_code}: no sign-in form")
                return
        body = urlencode({"username": self.account.name, "password": self.account.password,
                          "csrf_token": found.group(1), "next": "/"})
        with self.client.post("/login", data=body, name="sign-in post", headers=FORM,
                              allow_redirects=False, catch_response=True) as r:
            if r.status_code == 303:
                r.success()
            else:
                r.failure(f"HTTP {r.status_code}: sign-in refused")
                return
        with self.client.get("/", name="sign-in cockpit", catch_response=True) as r:
            found = re.search(r'name="csrf-token" content="([^"]+)"', r.text or "")
            if _ok(r.status_code) and found:
                self.csrf = found.group(1)
                r.success()
            else:
                r.failure(f"HTTP {r.status_code}: no cockpit after sign-in")
                return
        # a first look at every part of the app, then the weighted mix
        for first in (self.pan, self.list_page, self.item, self.case):
            first()

    # ---------------------------------------------------------------- the map

    def _move(self) -> tuple[int, int, int]:
        """The next view (zoom, centre tile): a jump to a parcel, a pan by a tile or a zoom step."""
        rng, view = self.rng, self.view
        move = rng.random()
        if view is None or move < 0.2:
            _key, lon, lat = rng.choice(self.plan.parcels[self._scope()])
            z = rng.choice(list(ZOOMS))
            return (z, *_tile_xy(lon, lat, z))
        z, x, y = view
        if move < 0.7:
            dx, dy = rng.choice([(1, 0), (-1, 0), (0, 1), (0, -1)])
            return z, x + dx, y + dy
        if (rng.random() < 0.6 or z == ZOOMS[0]) and z < ZOOMS[-1]:
            return z + 1, 2 * x + rng.randint(0, 1), 2 * y + rng.randint(0, 1)
        return z - 1, x // 2, y // 2

    @task(WEIGHTS["map"])
    def pan(self) -> None:
        """Move the map; fetch the view's parcel and control tiles the browser does not hold."""
        self.view = z, cx, cy = self._move()
        now = time.monotonic()
        self.fetched = {k: t for k, t in self.fetched.items() if now - t < TILE_MAX_AGE_S}
        todo = [(layer, z, cx + dx, cy + dy) for layer in ("parcels", "controls")
                for dy in range(-1, VIEW[1] - 1) for dx in range(-1, VIEW[0] - 1)]
        todo = [t for t in todo if t not in self.fetched]
        for t in todo:
            self.fetched[t] = now
        pool = Pool(TILE_CONNECTIONS)
        for layer, tz, x, y in todo:
            pool.spawn(self._get, "tiles", f"{layer} z{tz}", f"/tiles/{layer}/{tz}/{x}/{y}.pbf")
        pool.join()

    # ---------------------------------------------------------------- lists

    @task(WEIGHTS["lists"])
    def list_page(self) -> None:
        """A page of a list: the first, a later one, sorted, of a district, of a tag, a search."""
        rng, plan = self.rng, self.plan
        name = rng.choice(sorted(plan.sorts))
        kinds = ["first", "page", "sort", "district", "search"]
        kinds += ["tag", "tag"] if name in plan.tagged else []
        kind = rng.choice(kinds)
        params: dict[str, str | int] = {}
        if kind == "page":
            params["page"] = rng.randint(2, 40)
        elif kind == "sort":
            params["sort"] = rng.choice(["", "-"]) + rng.choice(plan.sorts[name])
        elif kind == "district":
            params["district_code"] = self._scope()
            params["page"] = rng.choice([1, 1, 2, 3])
        elif kind == "tag":
            params["tags"] = rng.choice(plan.tags)
            params["sort"] = "-area_mu"
        elif kind == "search":
            params["q"] = rng.choice(plan.words)
        query = f"?{urlencode(params)}" if params else ""
        self._get("lists", f"{name} {kind}", f"/api/lists/{name}{query}")

    # ---------------------------------------------------------------- items

    @task(WEIGHTS["items"])
    def item(self) -> None:
        """A parcel's explanation, its OGC item, a search by the end of its code (as bench_web)."""
        key, _lon, _lat = self.rng.choice(self.plan.parcels[self._scope()])
        for what, url in zip(("explain", "ogc item", "search"), item_urls([key]), strict=True):
            self._get("items", what, url)

    # ---------------------------------------------------------------- cases

    @task(WEIGHTS["cases"])
    def case(self) -> None:
        """A page of the case list, one of its cases and its history; now and then a comment on a
        case of this user's own."""
        rng = self.rng
        params: dict[str, str | int] = {"page": rng.choice([1, 1, 1, 2, 3])}
        if rng.random() < 0.3:
            params["state"] = rng.choice(["identified", "planning", "implementing", "closed"])
        page = self._get("cases", "list", f"/api/cases?{urlencode(params)}")
        if page and page["rows"]:
            no = rng.choice(page["rows"])["case_no"]
            self._get("cases", "detail", f"/api/cases/{quote(no)}")
            self._get("cases", "history", f"/api/cases/{quote(no)}/events")
        if self.own_cases and self.csrf and rng.random() < self.plan.comment_share:
            self._comment(rng.choice(self.own_cases))

    def _comment(self, no: str) -> None:
        case = self._get("comments", "read", f"/api/cases/{quote(no)}")
        if case is None:
            return
        body = urlencode({"version": case["version"], "comment": COMMENT})
        with self.client.post(f"/api/cases/{quote(no)}/comment", data=body, name="comments post",
                              headers=FORM | {"X-CSRF-Token": self.csrf}, catch_response=True) as r:
            if _ok(r.status_code):
                r.success()
            else:
                r.failure(f"HTTP {r.status_code}: {(r.text or '')[:200]}")


# --------------------------------------------------------------------------- running


def _group(name: str) -> str:
    return name.split(" ", 1)[0]


def _summary(entry: StatsEntry, seconds: float) -> dict:
    """Count, failures, percentiles (locust's: 2 significant digits above 100 ms), throughput."""
    n = entry.num_requests

    def pct(q: float) -> float:
        return entry.get_response_time_percentile(q) if n else 0

    return {"n": n, "failures": entry.num_failures, "p50": pct(0.50), "p95": pct(0.95),
            "p99": pct(0.99), "max": round(entry.max_response_time or 0),
            "rps": round(n / seconds, 2) if seconds else 0.0}


@contextmanager
def _cpu_of(pid: int) -> Iterator[dict]:
    """CPU seconds used by process ``pid`` (not its children) while the block runs."""
    proc = psutil.Process(pid)

    def used() -> float:
        t = proc.cpu_times()
        return t.user + t.system

    out: dict = {}
    start = used()
    yield out
    out["cpu_s"] = round(used() - start, 1)


def run_load(base: str, plan: Plan, users: int, spawn_rate: float, duration: float,
             log: Callable[[str], None] = print, user_class: type[LandUser] = LandUser) -> dict:
    """Run ``users`` simulated users (``user_class``) against ``base`` for ``duration`` s once all are spawned."""
    attrs = {"plan": plan, "counter": itertools.count(), "host": base, "abstract": False}
    env = Environment(user_classes=[type("LoadUser", (user_class,), attrs)], events=events)
    statuses: dict[str, Counter] = defaultdict(Counter)

    def on_request(name: str, response: object = None, **_kw: object) -> None:
        statuses[_group(name)][getattr(response, "status_code", 0) or 0] += 1

    env.events.request.add_listener(on_request)
    spawned = Event()
    env.events.spawning_complete.add_listener(lambda user_count, **_kw: spawned.set())
    runner = env.create_local_runner()
    start = time.monotonic()
    with _cpu_of(os.getpid()) as gen_cpu:
        runner.start(users, spawn_rate=spawn_rate)
        spawned.wait()
        ramp = time.monotonic() - start
        log(f"{users} users spawned in {ramp:.1f} s; running {duration:.0f} s")
        gevent.sleep(duration)
        runner.quit()
        runner.greenlet.join()
    seconds = time.monotonic() - start
    env.events.request.remove_listener(on_request)

    by_group: dict[str, StatsEntry] = {}
    for entry in env.stats.entries.values():
        group = _group(entry.name)
        if group not in by_group:
            by_group[group] = StatsEntry(env.stats, group, "", use_response_times_cache=False)
        by_group[group].extend(entry)
    entries = sorted(env.stats.entries.values(), key=lambda e: e.name)
    return {
        "users": users, "spawn_rate": spawn_rate, "duration_s": duration, "ramp_s": round(ramp, 1),
        "elapsed_s": round(seconds, 1),
        "groups": {g: _summary(by_group[g], seconds) | {"status": dict(sorted(statuses[g].items()))}
                   for g in [*GROUPS, *sorted(set(by_group) - set(GROUPS))] if g in by_group},
        "total": _summary(env.stats.total, seconds),
        "requests": {e.name: _summary(e, seconds) for e in entries},
        "errors": [{"name": e.name, "error": str(e.error), "n": e.occurrences}
                   for e in env.stats.errors.values()],
        # errors inside the simulated users (not requests): there should be none
        "exceptions": [{"n": e["count"], "error": e["msg"]} for e in runner.exceptions.values()],
        "generator_cpu_s": gen_cpu["cpu_s"],
    }


def _server_pid(base: str) -> int:
    """The process of ``landrenew serve`` listening at ``base`` (a child of this one)."""
    port = base.rsplit(":", 1)[1]
    for p in psutil.Process().children(recursive=True):
        if port in p.cmdline():
            return p.pid
    raise RuntimeError(f"no server process for {base}")


def measure(workspace: Path, users: int = 50, spawn_rate: float = 10, duration: float = 120, *,
            think: tuple[float, float] = THINK_S, comment_share: float = COMMENT_SHARE,
            seed: int = 7, log: Callable[[str], None] = print) -> dict:
    """Serve ``workspace`` (analysed), add the accounts, run the load test, retire the accounts."""
    load_before = os.getloadavg()
    accounts = make_accounts(workspace)
    try:
        plan = make_plan(workspace, accounts, users, seed)
        plan.comment_share, plan.think = comment_share, think
        with served(workspace) as base:
            with signed_in(base, accounts[0]) as client:
                read_catalogue(client, plan)
                while not client.get("/api/health").json()["warm"]:  # the caches fill on start
                    time.sleep(0.5)
                warm_s = client.get("/api/health").json()["warm_seconds"]
            log(f"server warm at {base} after {warm_s:.1f} s; "
                f"load average before {load_before[0]:.2f}")
            with _cpu_of(_server_pid(base)) as server_cpu:
                out = run_load(base, plan, users, spawn_rate, duration, log)
    finally:
        for acc in accounts:
            _retire(workspace, acc.name)
    return out | {"server_cpu_s": server_cpu["cpu_s"], "warm_s": round(warm_s, 1),
                  "load_before": [round(x, 2) for x in load_before],
                  "load_after": [round(x, 2) for x in os.getloadavg()], "cores": os.cpu_count(),
                  "think_s": list(think), "comment_share": comment_share,
                  "accounts": len(accounts), "locust": _locust_version(),
                  "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}


#: what each group's requests are, for the section
WHAT = {"sign-in": "sign-in form, sign-in, the cockpit page after it",
        "tiles": "map tiles, `parcels` and `controls`, z10–16",
        "lists": "list pages (first, later page, sort, district, tag, text search)",
        "items": "parcel explanation, OGC item, search by part of its code",
        "cases": "case list page, a case, its history",
        "comments": "a case read, then a comment on it (the only write)"}


def _row(label: str, s: dict, bold: bool = False) -> str:
    b = "**" if bold else ""
    return (f"| {label} | {s['n']:,} | {b}{s['failures']}{b} | {s['p50']:.0f} | "
            f"**{s['p95']:.0f}** | {s['p99']:.0f} | {s['max']:.0f} | {b}{s['rps']:.1f}{b} |")


def section(parcels: int, m: dict) -> list[str]:
    """The BENCHMARKS.md section of one load test."""
    lo, hi = m["think_s"]
    out = [TITLE, "",
           f"{m['users']} simulated users (locust {m['locust']}, `FastHttpUser` greenlets in one "
           f"process) started at {m['spawn_rate']:g} a second, then {m['duration_s']:.0f} s with "
           f"all of them ({m['elapsed_s']:.0f} s in all), against `landrenew serve` (one process, "
           "started fresh; its start-up caches warm, tiles drawn on first request) over the "
           f"analysed demo city of {parcels:,} parcels (SQLite). Each user signs in with a session "
           "of its own — half as the city administrator or analyst, half as a district officer "
           "(its district's parcels) — looks once at each part of the app, then every "
           f"{lo:g}–{hi:g} s does one of: move the map (weight {WEIGHTS['map']}: a jump to a "
           "parcel, a pan by a tile or a zoom step, fetching the tiles of both layers in the "
           f"{VIEW[0]}×{VIEW[1]} view it has not fetched in the last {TILE_MAX_AGE_S:.0f} s, "
           f"{TILE_CONNECTIONS} at a time), a list page (weight {WEIGHTS['lists']}), a parcel's "
           f"items (weight {WEIGHTS['items']}) or a case visit (weight {WEIGHTS['cases']}; "
           f"{m['comment_share']:.0%} of them then comment on a case of the user's own, so no "
           "edit is stale). Failures: any answer but 2xx or 304. Percentiles are locust's (two "
           "significant digits above 100 ms); req/s over the whole run.",
           "",
           "| requests | n | failures | p50 ms | p95 ms | p99 ms | max ms | req/s |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    out += [_row(f"{g}: {WHAT.get(g, g)}", s) for g, s in m["groups"].items()]
    out += [_row("**all**", m["total"], bold=True), ""]
    tiles = {str(k): v for k, v in m["groups"].get("tiles", {}).get("status", {}).items()}
    slow = sorted(m["requests"].items(), key=lambda kv: -kv[1]["p95"])[:5]
    out.append(
        f"The machine's {m['cores']} cores are shared by the server, the load generator and "
        f"whatever else ran: load average {m['load_before'][0]:.2f} before, "
        f"{m['load_after'][0]:.2f} after; the server used {m['server_cpu_s']:.0f} CPU s and "
        f"locust {m['generator_cpu_s']:.1f} CPU s in {m['elapsed_s']:.0f} s. Empty tiles (204): "
        f"{tiles.get('204', 0):,}. Slowest kinds (p95 ms): "
        + ", ".join(f"`{k}` {v['p95']:.0f}" for k, v in slow) + f". Measured {m['when']} with "
        f"`python -m landrenew.bench_load WORKSPACE --users {m['users']} "
        f"--duration {m['duration_s']:.0f} --into BENCHMARKS.md`.")
    problems = [f"`{e['name']}` {e['error']} ×{e['n']}" for e in m["errors"]]
    problems += [f"user error {e['error']} ×{e['n']}" for e in m["exceptions"]]
    if problems:
        out += ["", "Failures: " + "; ".join(problems) + "."]
    return out


def _locust_version() -> str:
    from locust import __version__

    return __version__


def main(argv: list[str] | None = None, report: Callable[[str], None] = print) -> dict:
    """The command line: run, print the JSON results last, write the section with ``--into``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workspace", type=Path)
    ap.add_argument("--users", type=int, default=50, help="simulated users (default 50)")
    ap.add_argument("--spawn-rate", type=float, default=10,
                    help="users started per second (default 10)")
    ap.add_argument("--duration", type=float, default=120,
                    help="seconds to run once all users are in (default 120)")
    ap.add_argument("--think", type=float, nargs=2, default=THINK_S, metavar=("MIN", "MAX"),
                    help="seconds between a user's actions (default 1 4)")
    ap.add_argument("--comment-share", type=float, default=COMMENT_SHARE,
                    help="share of case visits ending in a comment (default %(default)s; 0: none)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--into", type=Path, help="write the results into this BENCHMARKS.md")
    args = ap.parse_args(argv)
    m = measure(args.workspace, args.users, args.spawn_rate, args.duration, think=tuple(args.think),
                comment_share=args.comment_share, seed=args.seed)
    if args.into:
        replace_section(args.into, section(_parcels(args.workspace), m), TITLE)
    report(json.dumps(m, ensure_ascii=False))
    return m


if __name__ == "__main__":
    main()
