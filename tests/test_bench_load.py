"""The load test (``landrenew.bench_load``) for a few seconds on the small analysed city: every
group of requests is asked and none fails.

It runs in a child process: locust monkey-patches the standard library with gevent on import,
which must not happen inside the test session. Skipped when locust is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("locust") is None,
                                reason="locust is not installed (pip install locust)")


@pytest.mark.sqlite_only(reason="the load test serves the workspace folder in a child process")
def test_a_short_load_test_asks_every_group_and_nothing_fails(web_city, tmp_path):
    into = tmp_path / "BENCHMARKS.md"
    into.write_text("# Benchmarks\n\n## Web app\n\nkept\n", encoding="utf-8")
    command = [sys.executable, "-m", "landrenew.bench_load", str(web_city.ws.path), "--users", "5",
               "--spawn-rate", "5", "--duration", "10", "--comment-share", "1", "--into", str(into)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    m = json.loads(done.stdout.strip().splitlines()[-1])
    groups = m["groups"]
    assert set(groups) == {"sign-in", "tiles", "lists", "items", "cases", "comments"}
    assert all(g["n"] > 0 and g["failures"] == 0 for g in groups.values()), groups
    assert m["total"]["failures"] == 0 and m["errors"] == m["exceptions"] == []
    assert m["total"]["rps"] > 0
    assert groups["sign-in"]["n"] == 3 * 5  # form, post, cockpit: a session per simulated user
    text = into.read_text(encoding="utf-8")
    assert "## Web app\n\nkept" in text and "## API under load (locust)" in text
    assert "| **all** |" in text
