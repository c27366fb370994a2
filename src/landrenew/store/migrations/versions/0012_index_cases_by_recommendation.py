"""index the clearance cases by the recommendation they were opened from

The recommendations list looks up each row's case (number and state) by (run_id, run_case_id); with
only an index on run_id each look-up scanned all of the run's cases: exporting the 130,000
recommendations of a 1,000,000-parcel city against 1,000 cases took minutes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 10:40:00
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_clearance_case_recommendation", "clearance_case", ["run_id", "run_case_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_clearance_case_recommendation", table_name="clearance_case")
