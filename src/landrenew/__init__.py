"""landrenew: 危污乱散低 land clearance and upgrade."""

__version__ = "0.1.0"
