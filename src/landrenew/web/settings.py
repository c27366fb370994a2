"""Settings of the web app (``landrenew serve`` options, or environment variables)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WebSettings:
    """Where the data is and how the server behaves."""

    workspace: Path | None = None  # default: LANDRENEW_WORKSPACE or ./workspace
    database_url: str | None = None  # default: LANDRENEW_DATABASE_URL or the workspace's SQLite
    profile: str = "changzhou-2022"
    session_hours: float = 8.0  # a session ends this long after sign-in
    session_idle_minutes: float = 60.0  # … or this long after its last request
    login_failures_per_user: int = 5  # failed sign-ins of one user name within the window …
    login_failures_per_address: int = 20  # … or from one address, before sign-in is refused
    login_window_minutes: float = 15.0
    secure_cookies: bool = False  # set behind HTTPS: cookies only over TLS
    max_upload_mb: int = 200
    keep_uploads_days: float = 7.0  # staged uploads and made reports this old are removed at the next one
