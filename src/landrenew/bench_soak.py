"""The soak run: sustained mixed load on PostgreSQL with concurrent case moves and ledger transfers,
then every invariant of the records verified.

``python -m landrenew.bench_soak [--pg URL] [--parcels 20000] [--users 30] [--minutes 10]
[--into docs/reliability.md]`` builds the demo city of ``--parcels`` parcels into a PostgreSQL
database (``--pg``, else a throwaway server of ``tests/pgcluster.py``), analyses it and works its
cases and ledger through 2023–2025 (as ``make demo`` does), serves it with ``landrenew serve`` in
its own process, and runs the load test's users (:mod:`landrenew.bench_load`: map tiles, lists,
items, case visits, comments) with two more kinds of action: **moving** one of the user's own cases
a step along its workflow (with the values and file the step requires) and, for the city's
administrators, **transferring** quota between districts (each transfer sent twice with its id, as
a client retrying after a lost answer). Any answer but 2xx fails. At the end: ``ledger verify``,
``audit verify`` (hash chains, every case's events 1..version and a legal course, attachments) and
the count of moves and transfers against the store.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote

from locust import task

from landrenew import audit, ledger
from landrenew.actors import Actor
from landrenew.bench_engines import pg_url
from landrenew.bench_load import (
    LandUser,
    _ok,
    make_accounts,
    make_plan,
    read_catalogue,
    run_load,
    signed_in,
)
from landrenew.bench_web import _retire, replace_section, served
from landrenew.policy import load_profile
from landrenew.store import Workspace
from landrenew.store.workspace import ENV_DATABASE_URL

TITLE = "## Soak run (PostgreSQL, concurrent moves and transfers)"
#: extra task weights of the soak's users (the load test's are map 5, lists 3, items 2, cases 2)
SOAK_WEIGHTS = {"move": 2, "transfer": 2}
#: quota credited to every district before the run, so transfers are seldom refused for lack of it
SEED_MU = 100_000.0
PROOF = b"%PDF-1.4 soak-run attachment (landrenew.bench_soak)"
#: the price a transfer between districts records (yuan per 亩; the ledger asks for one)
PRICE = 300_000.0


class SoakUser(LandUser):
    """A load-test user who also moves its own cases and, as a city administrator, transfers quota."""

    abstract = True
    districts: list[str]

    def _need_values(self, move: dict) -> tuple[dict, bool]:
        values, file = {}, False
        for need in move["requires"]:
            kind = need["type"]
            if kind == "file":
                file = True
            elif kind == "comment":
                values["comment"] = "压力测试办理 soak-run step"
            elif kind in ("number", "integer"):
                lo = need.get("minimum") or 1
                values[need["key"]] = str(int(lo) if kind == "integer" else max(lo, 5.0))
            elif kind == "choice":
                values[need["key"]] = need["choices"][0]
            elif kind == "date":
                values[need["key"]] = date.today().isoformat()
            else:
                values[need["key"]] = "压力测试-1"
        return values, file

    @task(SOAK_WEIGHTS["move"])
    def move(self) -> None:
        """One step of one of this user's own cases (no other user moves it: never stale)."""
        for _ in range(5):  # a case this user can move on (not ended, a step its role may take)
            if not self.own_cases or not self.csrf:
                return
            no = self.rng.choice(self.own_cases)
            case = self._get("moves", "read", f"/api/cases/{quote(no)}")
            moves = [m for m in (case or {}).get("moves", []) if m["to_state"] != "withdrawn"]
            if moves:
                break
            if case is not None:
                self.own_cases.remove(no)  # nothing for this user to do on it any more
        else:
            return
        move = self.rng.choice(moves)
        values, file = self._need_values(move)
        form = {"to_state": move["to_state"], "version": str(case["version"]), **values}
        files = {"attachment": ("验收材料.pdf", PROOF, "application/pdf")} if file else None
        with self.client.post(f"/api/cases/{quote(no)}/move", data=form, files=files, name="moves post",
                              headers={"X-CSRF-Token": self.csrf}, catch_response=True) as r:
            if _ok(r.status_code):
                r.success()
            else:
                r.failure(f"HTTP {r.status_code}: {(r.text or getattr(r, 'error', None) or '')!s:.200}")

    @task(SOAK_WEIGHTS["transfer"])
    def transfer(self) -> None:
        """A city administrator moves a little linkage quota between two districts, and sends the
        same transfer again (it must post once)."""
        if self.account.role != "city_admin" or not self.csrf:
            return
        a, b = self.rng.sample(self.districts, 2)
        body = {"transfer_id": f"soak-{uuid.uuid4().hex[:20]}", "type": "transfer", "kind": ledger.LINKAGE,
                "from": a, "to": b, "amount": round(self.rng.uniform(0.1, 2.0), 2), "reason": "压力测试调剂",
                "price_yuan_per_mu": PRICE, "value_date": date.today().isoformat()}
        answered = False  # a retry is a replay only if the first sending was answered
        for attempt in ("post", "retry"):
            with self.client.post("/api/ledger/transfers", json=body, name=f"transfers {attempt}",
                                  headers={"X-CSRF-Token": self.csrf}, catch_response=True) as r:
                if not _ok(r.status_code):
                    r.failure(f"HTTP {r.status_code}: {(r.text or getattr(r, 'error', None) or '')!s:.200}")
                elif answered and not r.json().get("replayed"):
                    r.failure("a retried transfer was posted twice")
                else:
                    r.success()
                answered = answered or _ok(r.status_code)


def build(ws: Workspace, parcels: int, seed: int) -> dict:
    """The demo city loaded, analysed and worked, plus the seed quota; what was built."""
    from landrenew.demo.job import run_demo
    from landrenew.demo.operations import simulate_operations
    from landrenew.runs import analyze

    profile = load_profile()
    t = time.perf_counter()
    if run_demo(ws, profile, parcels, seed).failed:
        raise RuntimeError("the demo city did not load")
    run_id, _ = analyze(ws, profile, date(2025, 12, 31), outputs=False)
    simulate_operations(ws, profile, run_id, seed)
    admin = Actor("soak", "city_admin")
    with ws.engine.begin() as conn:
        for d in profile.city.district_codes:
            ledger.credit(conn, transfer_id=f"soak-seed-{d}", kind=ledger.LINKAGE, to_owner=d, amount=SEED_MU,
                          reason="压力测试期初", actor=admin, profile=profile, value_date=date.today())
    return {"parcels": parcels, "build_s": round(time.perf_counter() - t, 1), "run_id": run_id}


def counts(ws: Workspace) -> dict[str, int]:
    """Case events and transfers in the store."""
    from sqlalchemy import func, select

    with ws.engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for name, t in audit.TABLES.items()}


def measure(pg: str | None, parcels: int, users: int, minutes: float, seed: int = 11,
            log=print) -> dict:  # noqa: ANN001 - a print-like callable
    """Build, serve, load, verify; the figures."""
    profile = load_profile()
    with pg_url(pg) as url, tempfile.TemporaryDirectory(prefix="landrenew-soak-") as folder:
        os.environ[ENV_DATABASE_URL] = url  # the served process and the helpers use this store
        ws = Workspace.open(Path(folder), url)
        built = build(ws, parcels, seed)
        log(f"built {parcels:,} parcels, analysed and worked in {built['build_s']:.0f} s")
        before = counts(ws)
        accounts = make_accounts(Path(folder))
        try:
            plan = make_plan(Path(folder), accounts, users, seed)
            plan.comment_share = 0.05
            with served(Path(folder)) as base:
                with signed_in(base, accounts[0]) as client:
                    read_catalogue(client, plan)
                    while not client.get("/api/health").json()["warm"]:
                        time.sleep(0.5)
                attrs = {"districts": sorted(profile.city.district_codes)}
                user = type("Soak", (SoakUser,), attrs)
                out = run_load(base, plan, users, spawn_rate=5, duration=minutes * 60, log=log, user_class=user)
        finally:
            for acc in accounts:
                _retire(Path(folder), acc.name)
        after = counts(ws)
        t = time.perf_counter()
        with ws.engine.connect() as conn:
            trail = audit.verify(conn, profile, ws)
            books = ledger.verify(conn, profile)
        verify_s = time.perf_counter() - t
        ws.engine.dispose()
    moves = out["requests"].get("moves post", {}).get("n", 0)
    transfers = out["requests"].get("transfers post", {}).get("n", 0)
    return out | built | {
        "minutes": minutes, "events_added": after["case_event"] - before["case_event"],
        "transfers_added": after["quota_transfer"] - before["quota_transfer"], "moves_sent": moves,
        "transfers_sent": transfers, "audit_ok": trail.ok, "audit_findings": [f.en for f in trail.findings][:20],
        "ledger_ok": books.ok, "ledger_problems": [p.en for p in books.problems][:20], "rows": trail.rows,
        "verify_s": round(verify_s, 1), "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_after": [round(x, 2) for x in os.getloadavg()], "cores": os.cpu_count()}


def section(m: dict) -> list[str]:
    """The docs/reliability.md section of one soak run."""
    t = m["total"]
    rows = ["| requests | n | failures | p50 ms | p95 ms | p99 ms | req/s |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, s in sorted(m["groups"].items()):
        rows.append(f"| {name} | {s['n']:,} | {s['failures']} | {s['p50']:.0f} | {s['p95']:.0f} | {s['p99']:.0f} | "
                    f"{s['rps']:.1f} |")
    rows.append(f"| **all** | {t['n']:,} | **{t['failures']}** | {t['p50']:.0f} | {t['p95']:.0f} | {t['p99']:.0f} | "
                f"{t['rps']:.1f} |")
    verdict = "all invariants hold" if m["audit_ok"] and m["ledger_ok"] else "INVARIANTS BROKEN"
    return [TITLE, "",
            f"Measured {m['when']} with `make soak` (`python -m landrenew.bench_soak --minutes {m['minutes']:g} "
            f"--into docs/reliability.md`): the demo city of {m['parcels']:,} parcels on PostgreSQL (a throwaway "
            f"server on the same {m['cores']} cores), analysed and worked (built in {m['build_s']:.0f} s), served "
            f"by one `landrenew serve` process; {m['users']} simulated users for {m['minutes']:g} minutes: the load "
            "test's mix (map tiles, lists, items, case visits, comments) plus moving their own cases a step "
            "(values and file as the step requires) and, as city administrators, transfers between districts "
            "each sent twice with its id.", "", *rows, "",
            f"Writes: {m['moves_sent']:,} moves and {m['transfers_sent']:,} transfers sent; the store gained "
            f"{m['events_added']:,} case events and {m['transfers_added']:,} transfers (a retried transfer posts "
            f"once). Errors inside the simulated users: {len(m['exceptions'])}. Afterwards ({m['verify_s']:.1f} s): "
            f"`audit verify` over {m['rows']['case_event']:,} events and {m['rows']['quota_transfer']:,} transfers "
            f"{'passed' if m['audit_ok'] else 'FAILED: ' + '; '.join(m['audit_findings'])}, `ledger verify` "
            f"{'passed' if m['ledger_ok'] else 'FAILED: ' + '; '.join(m['ledger_problems'])}: **{verdict}**. "
            f"Load average at the end {m['load_after'][0]:.2f} on {m['cores']} cores (the server, PostgreSQL, "
            "the load generator and whatever else ran share them): the latencies are this machine's, not a "
            "server's.", ""]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pg", help="PostgreSQL URL of an empty database (default: a throwaway server)")
    ap.add_argument("--parcels", type=int, default=20_000)
    ap.add_argument("--users", type=int, default=30)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--into", type=Path, help="write the results into this file's soak section")
    args = ap.parse_args(argv)
    m = measure(args.pg, args.parcels, args.users, args.minutes)
    print(json.dumps(m, ensure_ascii=False, default=str))
    if args.into:
        replace_section(args.into, section(m), TITLE)
    if m["total"]["failures"] or m["exceptions"] or not (m["audit_ok"] and m["ledger_ok"]):
        raise SystemExit("the soak run failed (see above)")


if __name__ == "__main__":
    main()
