"""The demo city: a plausible Changzhou on the real district boundaries, written as bureau deliveries.

    city = build_city(50_000, seed=42)
    deliveries = write_deliveries(city, Path("demo-data"))

Deterministic for a seed; see `city` for what is generated and `deliveries` for the file formats.
"""

from landrenew.demo.city import DemoCity, build_city
from landrenew.demo.deliveries import Delivery, write_deliveries

__all__ = ["Delivery", "DemoCity", "build_city", "write_deliveries"]
