"""indexes for the lists: filters and sorts by district, area, score, priority, unit and tag per run

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 05:00:00
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_run_parcel_district_area", "run_parcel", ["run_id", "district_code", "area_mu"]),
    ("ix_run_parcel_area", "run_parcel", ["run_id", "area_mu"]),
    ("ix_run_parcel_unit", "run_parcel", ["run_id", "unit_id"]),
    ("ix_run_firm_district", "run_firm", ["run_id", "district_code"]),
    ("ix_run_firm_score", "run_firm", ["run_id", "score"]),
    ("ix_run_case_district", "run_case", ["run_id", "district_code"]),
    ("ix_run_case_priority", "run_case", ["run_id", "priority"]),
    ("ix_run_case_unit", "run_case", ["run_id", "unit_id"]),
    ("ix_run_tag_hit_tag", "run_tag_hit", ["run_id", "tag", "parcel_key"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
