"""Sign-in throttling: too many failed sign-ins for one user name, or from one address, within a
window refuse further attempts (even with the right password) until the window has passed."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

#: keys kept at most (the oldest are dropped first): bounds the memory an attacker can make us use
MAX_KEYS = 100_000


class LoginThrottle:
    """Failed attempts per key (``user:<name>``, ``addr:<ip>``) in a sliding window, in memory (one
    server process; a restart forgets them)."""

    def __init__(self, limits: dict[str, int], window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits, self.window_s, self.clock = limits, window_s, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, keys: Iterable[str]) -> int:
        """Seconds until a sign-in with these keys may be tried again; 0 when it may now."""
        now = self.clock()
        with self._lock:
            waits = [self._wait(key, now) for key in keys]
        return max(waits, default=0)

    def failed(self, keys: Iterable[str]) -> None:
        """Count a failed sign-in against every key."""
        now = self.clock()
        with self._lock:
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)
            while len(self._failures) > MAX_KEYS:
                self._failures.pop(next(iter(self._failures)))

    def succeeded(self, keys: Iterable[str]) -> None:
        """A right password (while not blocked) clears the user name's count."""
        with self._lock:
            for key in keys:
                if key.startswith("user:"):
                    self._failures.pop(key, None)

    def _wait(self, key: str, now: float) -> int:
        times = self._failures.get(key)
        if not times:
            return 0
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0
        limit = self.limits[key.split(":", 1)[0]]
        return math.ceil(times[-limit] + self.window_s - now) if len(times) >= limit else 0


def keys(name: str, address: str | None) -> list[str]:
    """The throttle keys of a sign-in attempt."""
    return [f"user:{name.strip().lower()}", f"addr:{address or '?'}"]
