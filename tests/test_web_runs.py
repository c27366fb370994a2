"""分析批次 through the API and the browser: history, diffs, what-if (nothing stored), analyses
started from the page with their progress, and who may do what."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from landrenew.store.models import AnalysisRun, Parcel, RunTagHit
from webkit import client_for, live_server, open_page, sign_in_page

SHOTS = Path(__file__).parent.parent / "build" / "screenshots"
RAISE_FLOOR = "land.plot_ratio.industrial:floor=3.0"


def n_runs(ws) -> int:  # noqa: ANN001
    with ws.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(AnalysisRun))


def wait_job(c, job: dict, timeout: float = 120) -> dict:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    seen = {job["percent"]}
    while job["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
        r = c.get(f"/api/runs/jobs/{job['job_id']}")
        assert r.status_code == 200
        job = r.json()
        seen.add(job["percent"])
    job["seen"] = sorted(seen)
    return job


def test_the_history_lists_every_run_with_its_inputs_and_counts(web_city):
    c = client_for(web_city.app, "leader")
    runs = c.get("/api/runs").json()["runs"]
    run = next(r for r in runs if r["id"] == web_city.run_id)
    assert run["status"] == "done" and run["as_of"] == "2024-12-31" and run["year"]
    assert run["profile_id"] == "changzhou-2022" and len(run["input_hash"]) == 64
    assert run["counts"]["parcels"] > 0 and run["counts"]["flagged_parcels"] > 0 and run["seconds"] > 0
    detail = c.get(f"/api/runs/{web_city.run_id}").json()
    assert detail["id"] == web_city.run_id and detail["timings"] and detail["counts"] == run["counts"]
    r = c.get("/api/runs/999999")
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_run"
    assert c.get("/api/runs?limit=0").status_code == 422


def test_a_run_compared_with_itself_changes_nothing(web_city):
    c = client_for(web_city.app, "analyst")
    d = c.get(f"/api/runs/{web_city.run_id}/diff/{web_city.run_id}").json()
    assert [x["tag"] for x in d["lists"]] == list("危污乱散低")
    assert all(x["entered"] == 0 and x["left"] == 0 and x["in_a"] == x["in_b"] for x in d["lists"])
    assert all(not x["entered_keys"] and not x["left_keys"] for x in d["lists"])
    assert sum(x["in_a"] for x in d["lists"]) > 0
    m = d["transitions"]["matrix"]
    assert {"A", "B", "C", "D"} <= set(d["transitions"]["classes"])
    assert all(m[i][j] == 0 for i in range(len(m)) for j in range(len(m)) if i != j)
    assert sum(m[i][i] for i in range(len(m))) > 0
    assert d["firms_changed"] == 0 and d["paths_changed"] == 0 and d["paths"] == []
    r = c.get(f"/api/runs/{web_city.run_id}/diff/999999")
    assert r.status_code == 404 and "999999" in r.json()["error"]["en"]


def test_a_district_officer_sees_the_history_but_not_city_wide_comparisons(web_city):
    c = client_for(web_city.app, "wujin")
    assert c.get("/api/runs").status_code == 200
    r = c.get(f"/api/runs/{web_city.run_id}/diff/{web_city.run_id}")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = c.post("/api/whatif", json={"set": [RAISE_FLOOR]})
    assert r.status_code == 403
    page = c.get("/runs")
    assert page.status_code == 200 and 'id="whatif-form"' not in page.text and 'id="new-run"' not in page.text


def test_the_rules_a_whatif_may_change_come_from_the_profile(web_city, profile):
    rules = client_for(web_city.app, "leader").get("/api/profile/rules").json()["rules"]
    by_id = {r["id"]: r for r in rules}
    floor = profile.rule("land.plot_ratio.industrial").params.floor
    assert {"name": "floor", "value": floor} in by_id["land.plot_ratio.industrial"]["params"]
    assert all(r["params"] and r["description_zh"] for r in rules)


def test_a_whatif_changes_the_counts_and_stores_nothing(web_city):
    c = client_for(web_city.app, "leader")  # read-only, city-wide: may ask what if
    before = n_runs(web_city.ws)
    r = c.post("/api/whatif", json={"set": [RAISE_FLOOR]})
    assert r.status_code == 200, r.text
    w = r.json()
    assert n_runs(web_city.ws) == before
    assert w["overrides"] == [RAISE_FLOOR] and w["as_of"] == "2024-12-31"
    m = {x["measure"]: x for x in w["measures"]}
    assert m["tag_low"]["alt"] > m["tag_low"]["base"]
    assert m["tag_low"]["change"] == m["tag_low"]["alt"] - m["tag_low"]["base"]
    assert m["parcels"]["change"] == 0
    low = next(x for x in w["comparison"]["lists"] if x["tag"] == "低")
    assert low["entered"] > 0 and low["entered_keys"] and low["left"] == 0
    assert low["in_b"] - low["in_a"] == low["entered"]


@pytest.mark.parametrize(("override", "words"), [
    ("land.plot_ratio.industrial:floor", "RULE_ID"),
    ("no.such.rule:floor=1", "no rule"),
    ("land.plot_ratio.industrial:ceiling=1", "has no parameter"),
    ("eval.indicator.tax_per_mu:weight=90", "invalid"),
])
def test_a_bad_override_is_refused_with_its_reason(web_city, override, words):
    c = client_for(web_city.app, "analyst")
    before = n_runs(web_city.ws)
    r = c.post("/api/whatif", json={"set": [override]})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert words in err["en"] and err["zh"]
    assert n_runs(web_city.ws) == before
    assert c.post("/api/whatif", json={"set": []}).status_code == 422


def test_viewers_and_district_officers_cannot_start_an_analysis(web_city):
    before = n_runs(web_city.ws)
    for user in ("leader", "wujin"):
        r = client_for(web_city.app, user).post("/api/runs", json={"outputs": False})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert n_runs(web_city.ws) == before
    r = client_for(web_city.app, "leader").get("/api/runs/jobs/nope")
    assert r.status_code == 404


def _hazards_for_unflagged_parcels(ws, run_id: int, n: int = 3) -> tuple[bytes, list[str]]:  # noqa: ANN001
    """A 危 list naming ``n`` stored parcels that are not on the run's 危 list."""
    with ws.engine.connect() as conn:
        flagged = set(conn.execute(select(RunTagHit.parcel_key).where(RunTagHit.run_id == run_id,
                                                                       RunTagHit.tag == "危")).scalars())
        codes = [c for c in conn.execute(select(Parcel.parcel_code).where(Parcel.parcel_code.is_not(None))
                                         .order_by(Parcel.parcel_code)).scalars() if c not in flagged][:n]
    buf = io.BytesIO()
    pd.DataFrame({"隐患编号": [f"WEB-{i}" for i in range(n)], "宗地代码": codes, "隐患类型": ["危险化学品"] * n,
                  "隐患等级": ["重大"] * n, "发现日期": ["2024-06-01"] * n, "整改状态": ["未整改"] * n,
                  "来源部门": ["市应急管理局"] * n}).to_excel(buf, index=False)
    return buf.getvalue(), codes


def test_a_new_evidence_file_and_a_new_analysis_show_up_in_the_diff(web_city):
    """Load one more 危 list through the intake API, analyse from the API, compare with the first run."""
    c = client_for(web_city.app, "analyst")
    data, codes = _hazards_for_unflagged_parcels(web_city.ws, web_city.run_id)
    v = c.post("/api/intake/validate", data={"kind": "hazards"},
               files={"file": ("隐患清单.xlsx", data, "application/octet-stream")}).json()
    assert v["report"]["ok"], v["report"]["issues"]
    assert c.post(f"/api/intake/{v['upload_id']}/load", json={}).json()["rows_loaded"] == len(codes)
    before = n_runs(web_city.ws)
    r = c.post("/api/runs", json={"as_of": "2024-12-31", "note": "web test", "outputs": False})
    assert r.status_code == 202, r.text
    job = wait_job(c, r.json())
    assert job["state"] == "done" and job["percent"] == 100 and job["run_id"] and job["error"] is None
    assert len(job["seen"]) > 2  # progress was reported step by step
    assert n_runs(web_city.ws) == before + 1
    run = c.get(f"/api/runs/{job['run_id']}").json()
    assert run["note"] == "web test" and run["user"] == "analyst" and run["status"] == "done"
    d = c.get(f"/api/runs/{web_city.run_id}/diff/{job['run_id']}").json()
    danger = next(x for x in d["lists"] if x["tag"] == "危")
    assert danger["entered"] >= 1 and set(danger["entered_keys"]) <= set(codes) and danger["left"] == 0
    assert all(x["entered"] == x["left"] == 0 for x in d["lists"] if x["tag"] != "危")


@pytest.mark.sqlite_only(reason="what the browser shows does not depend on the store")
def test_the_runs_page_shows_history_a_new_run_a_diff_and_a_whatif(web_city, browser):
    page = open_page(browser, height=1000)
    context, errors = page.context, page.errors
    try:
        with live_server(web_city.app) as base:
            sign_in_page(page, base, "analyst")
            page.goto(f"{base}/runs")
            page.locator(f'#run-table tr[data-run="{web_city.run_id}"]').wait_for()
            n_before = page.locator("#run-table tbody tr").count()
            page.fill("#new-run input[name=as_of]", "2024-12-31")
            page.fill("#new-run input[name=note]", "页面新建")
            page.click("#new-run button[type=submit]")
            page.locator("#job-text", has_text="完成").wait_for(timeout=120_000)
            assert page.locator("#job-bar").get_attribute("value") == "100"
            page.locator(f"#run-table tbody tr:nth-child({n_before + 1})").wait_for()
            newest = page.locator("#run-table tbody tr").first
            assert "页面新建" in newest.inner_text()
            newest.locator("input[type=checkbox]").check()
            page.locator(f'#run-table input[data-run="{web_city.run_id}"]').check()
            page.click("#compare")
            page.locator("#diff-body table.matrix").wait_for()
            assert page.locator("#diff-body tr[data-tag]").count() == 5
            page.select_option("#wi-rule", "land.plot_ratio.industrial")
            page.select_option("#wi-param", "floor")
            page.fill("#wi-value", "3")
            page.click("#wi-add")
            assert page.inner_text("#wi-overrides") .startswith("land.plot_ratio.industrial:floor=3")
            page.click("#wi-run")
            page.locator("#wi-table").wait_for(timeout=120_000)
            assert page.locator("#wi-busy").is_hidden()
            low = page.locator('#wi-table tr[data-measure="tag_low"]').inner_text()
            assert "低" in low and "+" in low
            page.locator("#wi-chart canvas").wait_for()
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "runs.png"), full_page=True)
            page.goto(f"{base}/runs?lang=en")
            page.locator(f'#run-table tr[data-run="{web_city.run_id}"]').wait_for()
            assert "Analysis runs" in page.inner_text("h1")
    finally:
        context.close()
    assert errors == []
