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
    secure_cookies: bool = False  # set behind HTTPS: cookies only over TLS
    max_upload_mb: int = 200
    keep_uploads_days: float = 7.0  # staged uploads and made reports this old are removed at the next one
