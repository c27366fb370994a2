"""The web app: pages, JSON API, OGC API Features and vector tiles over the same services as the CLI."""

from landrenew.web.app import create_app
from landrenew.web.settings import WebSettings

__all__ = ["WebSettings", "create_app"]
