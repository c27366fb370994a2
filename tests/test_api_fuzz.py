"""schemathesis against the OpenAPI spec the app serves, on SQLite and on PostgreSQL: requests generated
from every operation's documented parameters and bodies (valid and not) answer no 5xx, every error has
the one documented shape ``{"error": {"code", "zh", "en"}}``, and no operation ties the server up (it
found ``/api/targets/trend`` measuring every quarter from year 1 to 9999, and the router's own 404 for
a path with ``..`` in it answering ``{"detail": "Not Found"}``).

The operations that take uploads or start heavy work (an analysis, a report, a what-if in memory) are
fuzzed too, with a few cases each: a generated request may start a real analysis or report of the small
city in the background (one at a time; the others are told 409 busy), and the test waits for it."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from conftest import fresh_workspace
from landrenew import history, users
from landrenew.demo.job import run_demo
from landrenew.demo.operations import simulate_operations
from landrenew.runs import analyze
from landrenew.web import WebSettings, create_app

#: operations that start heavy background work (an analysis, a report, a what-if in memory) or take
#: uploads: fuzzed with a few cases each, not by the dozen
HEAVY = r"^/api/(runs|reports|whatif|intake)"
#: generated cases per operation (per heavy operation), and the seconds they may take together
EXAMPLES = {"sqlite": 12, "postgresql": 8}
HEAVY_EXAMPLES = 4
SLOW_S = 30.0
#: seconds the background jobs the heavy cases started may take to end
JOBS_S = 90.0


class City:
    def __init__(self, app, schema, auth: dict[str, str]) -> None:  # noqa: ANN001
        self.app, self.schema, self.auth = app, schema, auth
        self.statuses: Counter[int] = Counter()
        self.by_operation: Counter[tuple[str, int]] = Counter()  # (METHOD path, status) → requests


@pytest.fixture(scope="module")
def city(request, backend, tmp_path_factory, profile):
    """The app over a small analysed and worked city, and its OpenAPI schema to fuzz."""
    with fresh_workspace(request, backend, tmp_path_factory.mktemp("fuzz") / "ws") as ws:
        assert not run_demo(ws, profile, 1500, 5).failed
        run_id, _ = analyze(ws, profile, date(2024, 12, 31), outputs=False)
        simulate_operations(ws, profile, run_id, 5)
        users.add_user(ws.engine, profile, "admin", "city_admin", "Changzhou-2025")
        auth = {"Authorization": f"Bearer {users.create_token(ws.engine, 'admin', 'fuzz')}"}
        app = create_app(WebSettings(ws.path, ws.database_url))
        c = City(app, schemathesis.openapi.from_asgi("/openapi.json", app), auth)
        yield c
        _wait_for_jobs(app, JOBS_S)  # no thread of ours may outlive the database


def _jobs(app) -> list[history.Job]:  # noqa: ANN001
    return [j for name in ("analysis_jobs", "report_jobs") if hasattr(app.state, name)
            for j in getattr(app.state, name)._jobs.values()]


def _wait_for_jobs(app, seconds: float) -> list[history.Job]:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while any(j.state in ("queued", "running") for j in _jobs(app)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _jobs(app)


def _fuzz(city: City, operations: list, examples: int) -> list[str]:
    """Each operation gets its own run of ``examples`` generated cases; the failures, one line each."""
    failures: list[str] = []
    for op in operations:

        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=op.as_strategy())
        def check(case) -> None:  # noqa: ANN001 - a schemathesis case
            response = case.call(headers=city.auth)
            city.statuses[response.status_code] += 1
            city.by_operation[(f"{case.operation.method.upper()} {case.operation.path}", response.status_code)] += 1
            assert response.status_code < 500, f"{response.status_code} {response.text[:300]}"
            if response.status_code >= 400:
                body = response.json()
                assert set(body) == {"error"} and {"code", "zh", "en"} <= set(body["error"]), body

        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - collected, reported together below
            failures.append(f"{op.method.upper()} {op.path}: {str(exc).splitlines()[0][:400]}")
        if (spent := time.perf_counter() - started) > SLOW_S:  # a request that can tie up the server
            failures.append(f"{op.method.upper()} {op.path}: {spent:.0f} s for {examples} requests")
    return failures


def test_no_server_error_and_every_error_in_the_documented_shape(city, backend):
    operations = [result.ok() for result in city.schema.exclude(method="POST", path_regex=HEAVY).get_all_operations()]
    assert len(operations) > 40
    failures = _fuzz(city, operations, EXAMPLES[backend])
    assert not failures, "\n".join(failures)
    assert sum(city.statuses.values()) >= len(operations) * 2, city.statuses
    assert any(200 <= s < 300 for s in city.statuses), city.statuses


def test_uploads_and_job_starts_answer_4xx_not_5xx(city):
    """Garbage multipart uploads and generated analysis / report / what-if requests: 2xx or 4xx in the
    error shape, never 5xx; the analyses and reports they started end (done, or failed with a reason)."""
    operations = [result.ok() for result in city.schema.include(method="POST", path_regex=HEAVY).get_all_operations()]
    paths = {op.path for op in operations}
    assert {"/api/intake/validate", "/api/runs", "/api/reports", "/api/whatif"} <= paths, paths
    failures = _fuzz(city, operations, HEAVY_EXAMPLES)
    assert not failures, "\n".join(failures)
    jobs = _wait_for_jobs(city.app, JOBS_S)
    print("statuses:", sorted((k, n) for k, n in city.by_operation.items() if k[0].split()[1] in paths))
    print("jobs:", [(j.state, j.error) for j in jobs])
    assert all(j.state in ("done", "failed") for j in jobs), [j.as_dict() for j in jobs]


@pytest.mark.parametrize(("name", "content"), [
    ("宗地.csv", b"\xff\xfe\x00garbage\x00" * 50), ("宗地.xlsx", b"PK\x03\x04 not a workbook"),
    ("宗地.zip", b"PK\x05\x06" + b"\x00" * 18), ("宗地.gpkg", b"SQLite format 3\x00" + b"\x00" * 84),
    ("宗地.shp", b"\x00\x00\x27\x0a"), ("宗地", b""), ("../../宗地.csv", b"a,b\n1,2\n"),
], ids=["csv", "xlsx", "zip", "gpkg", "shp", "no-suffix-empty", "path-in-name"])
def test_a_garbage_upload_of_a_real_kind_is_refused_in_the_error_shape(city, name, content):
    """Unreadable bytes under a real kind: 422 (empty file, empty zip) or the validation report saying
    the file cannot be read (fatal, nothing loadable); never a 5xx."""
    c = TestClient(city.app)
    r = c.post("/api/intake/validate", headers=city.auth, data={"kind": "parcels"},
               files={"file": (name, content, "application/octet-stream")})
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert set(r.json()) == {"error"} and {"code", "zh", "en"} <= set(r.json()["error"]), r.text
    else:  # validated, not loaded: the report says why it cannot load
        report = r.json()["report"]
        assert report["errors"] and report["fatal"] and not report["ok"] and not report["rows_loadable"], report


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/nope"), ("GET", "/api/explain/parcel/.."),
                                              ("GET", "/ogc/nope"), ("PATCH", "/api/lists"),
                                              ("DELETE", "/api/runs")])
def test_the_routers_own_404_and_405_have_the_error_shape(city, method, path):
    """Starlette's router answers these before any route: found by the fuzzer as ``{"detail": …}``."""
    r = TestClient(city.app).request(method, path, headers=city.auth)
    assert r.status_code in (404, 405), r.text
    e = r.json()["error"]
    assert set(r.json()) == {"error"} and e["code"] == f"http_{r.status_code}" and e["zh"] and e["en"]
    assert e["zh"] != e["en"]
    if r.status_code == 405:
        assert r.headers["allow"]


def _post_when_idle(city: City, path: str, body: dict):  # noqa: ANN201
    _wait_for_jobs(city.app, JOBS_S)  # the fuzzing above may have left a job running: 409 busy
    return TestClient(city.app).post(path, headers=city.auth, json=body)


def test_a_report_as_of_a_far_date_is_refused_before_any_job(city):
    """Found by fuzzing: a report as of 9999-12-31 measured the target trend at ~32,000 quarter ends,
    tying up the one report job for minutes; the same bound as /api/targets/trend now refuses it."""
    r = _post_when_idle(city, "/api/reports", {"as_of": "9999-12-31", "formats": ["xlsx"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "range", r.text
    assert r.json()["error"]["zh"] and r.json()["error"]["en"]


@pytest.mark.parametrize(("path", "body"), [
    ("/api/runs", {"year": -5}), ("/api/runs", {"year": 2**70}), ("/api/runs", {"year": 0}),
    ("/api/whatif", {"set": ["land.plot_ratio.industrial:floor=1.2"], "year": 2**70}),
])
def test_an_evaluation_year_out_of_range_is_422_not_a_failed_job(city, path, body):
    """Found by fuzzing: these started an analysis that failed in the background (or could not be stored)."""
    r = _post_when_idle(city, path, body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid", r.text


def test_an_analysis_of_a_year_without_firm_data_ends_done(city):
    """Found by fuzzing: with no firm rated in the year, storing the run failed (JSONDecodeError)."""
    r = _post_when_idle(city, "/api/runs", {"year": 2031, "outputs": False})
    assert r.status_code == 202, r.text
    _wait_for_jobs(city.app, JOBS_S)
    job = TestClient(city.app).get(f"/api/runs/jobs/{r.json()['job_id']}", headers=city.auth).json()
    assert job["state"] == "done", job
    run = TestClient(city.app).get(f"/api/runs/{job['run_id']}", headers=city.auth).json()
    assert run["year"] == 2031 and run["status"] == "done", run
