"""schemathesis against the OpenAPI spec the app serves: requests generated from every operation's
documented parameters and bodies (valid and not) answer no 5xx, every error has the one
documented shape ``{"error": {"code", "zh", "en"}}``, and no operation ties the server up (it
found ``/api/targets/trend`` measuring every quarter from year 1 to 9999)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import date

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from landrenew import users
from landrenew.demo.job import run_demo
from landrenew.demo.operations import simulate_operations
from landrenew.runs import analyze
from landrenew.store import Workspace
from landrenew.web import WebSettings, create_app

AUTH: dict[str, str] = {}
#: operations that start heavy background work (an analysis, a report, a what-if in memory) or
#: take uploads: covered by their own tests, not fuzzed by the thousand
HEAVY = r"^/api/(runs|reports|whatif|intake)"
#: generated cases per operation, and the seconds they may take together
EXAMPLES = 12
SLOW_S = 30.0
STATUSES: Counter[int] = Counter()


@pytest.fixture(scope="module")
def api(tmp_path_factory, profile):
    """The app over a small analysed and worked city (SQLite), as an OpenAPI schema to fuzz."""
    ws = Workspace.open(tmp_path_factory.mktemp("fuzz") / "ws")
    assert not run_demo(ws, profile, 1500, 5).failed
    run_id, _ = analyze(ws, profile, date(2024, 12, 31), outputs=False)
    simulate_operations(ws, profile, run_id, 5)
    users.add_user(ws.engine, profile, "admin", "city_admin", "Changzhou-2025")
    AUTH["Authorization"] = f"Bearer {users.create_token(ws.engine, 'admin', 'fuzz')}"
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(WebSettings(ws.path, ws.database_url)))
    return schema.exclude(method="POST", path_regex=HEAVY)


def test_no_server_error_and_every_error_in_the_documented_shape(api):
    """Each operation gets its own run of generated cases; every failure is collected, then shown."""
    failures: list[str] = []
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) > 40
    for op in operations:

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=op.as_strategy())
        def check(case) -> None:  # noqa: ANN001 - a schemathesis case
            response = case.call(headers=AUTH)
            STATUSES[response.status_code] += 1
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
            failures.append(f"{op.method.upper()} {op.path}: {spent:.0f} s for {EXAMPLES} requests")
    assert not failures, "\n".join(failures)
    assert sum(STATUSES.values()) >= len(operations) * 2 and any(200 <= s < 300 for s in STATUSES), STATUSES
