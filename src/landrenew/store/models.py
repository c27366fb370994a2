"""The workspace schema: ingest batches and what they loaded.

Portable by construction: geometry is PostGIS ``geometry(…, 4490)`` on PostgreSQL and WKB
in a BLOB on SQLite, each with its bounding box in plain columns for coarse filtering.
Schema changes go through Alembic (``store/migrations``), never ``create_all``.
"""

from __future__ import annotations

from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

GEOMETRY = LargeBinary().with_variant(Geometry("GEOMETRY", srid=4490, spatial_index=False), "postgresql")


class Base(DeclarativeBase):
    """Declarative base of every table."""


class BoundsMixin:
    """Geometry (EPSG:4490) with its bounding box and planar area (EPSG:4549, m²)."""

    geom: Mapped[bytes | None] = mapped_column(GEOMETRY, nullable=True)
    minx: Mapped[float | None] = mapped_column(Float)
    miny: Mapped[float | None] = mapped_column(Float)
    maxx: Mapped[float | None] = mapped_column(Float)
    maxy: Mapped[float | None] = mapped_column(Float)
    area_m2: Mapped[float | None] = mapped_column(Float)


class IngestBatch(Base):
    """One load of one file: what, from where, how much, when and by whom."""

    __tablename__ = "ingest_batch"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    layer_kind: Mapped[str | None] = mapped_column(String(32))
    file_name: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64))
    sheet: Mapped[str | None] = mapped_column(Text)
    source_crs: Mapped[str | None] = mapped_column(String(32))
    rows_read: Mapped[int] = mapped_column(Integer)
    rows_loaded: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    warnings: Mapped[int] = mapped_column(Integer)
    repairs: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user: Mapped[str] = mapped_column(String(128))
    profile_id: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


class IngestIssue(Base):
    """A warning or repair kept with a loaded batch (errors block the load and are only reported)."""

    __tablename__ = "ingest_issue"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("ingest_batch.id"), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    row: Mapped[int | None] = mapped_column(Integer)
    column: Mapped[str | None] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(64))
    value: Mapped[str | None] = mapped_column(Text)
    problem_zh: Mapped[str] = mapped_column(Text)
    problem_en: Mapped[str] = mapped_column(Text)
    fix_zh: Mapped[str] = mapped_column(Text)
    fix_en: Mapped[str] = mapped_column(Text)


class Parcel(BoundsMixin, Base):
    """A 宗地 or 三调 图斑; ``key`` is the parcel code, else ``BSM:`` + the 三调 id."""

    __tablename__ = "parcel"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    parcel_code: Mapped[str | None] = mapped_column(String(19), index=True)
    bsm: Mapped[str | None] = mapped_column(String(64), index=True)
    dlbm: Mapped[str | None] = mapped_column(String(8))
    dlmc: Mapped[str | None] = mapped_column(Text)
    ydyh_code: Mapped[str | None] = mapped_column(String(8))
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    right_holder: Mapped[str | None] = mapped_column(Text)
    approval_date: Mapped[date | None] = mapped_column(Date)
    supply_date: Mapped[date | None] = mapped_column(Date)
    contract_start_date: Mapped[date | None] = mapped_column(Date)
    actual_start_date: Mapped[date | None] = mapped_column(Date)
    floor_area_m2: Mapped[float | None] = mapped_column(Float)
    declared_area_m2: Mapped[float | None] = mapped_column(Float)
    batch_id: Mapped[int] = mapped_column(ForeignKey("ingest_batch.id"))


class ControlFeature(BoundsMixin, Base):
    """A polygon of a control layer (红线, 基本农田, 开发边界, 工业保障线, 园区)."""

    __tablename__ = "control_feature"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_kind: Mapped[str] = mapped_column(String(32), index=True)
    feature_id: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    district_code: Mapped[str | None] = mapped_column(String(6))
    #: planned use (用地用海 code) of a detailed-plan zone (layer kind ``planned_use``)
    ydyh_code: Mapped[str | None] = mapped_column(String(8))
    batch_id: Mapped[int] = mapped_column(ForeignKey("ingest_batch.id"))


class FirmYear(Base):
    """One enterprise's 亩均 data for one evaluation year."""

    __tablename__ = "firm_year"
    __table_args__ = (UniqueConstraint("uscc", "year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    year: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    district_code: Mapped[str] = mapped_column(String(6))
    group: Mapped[str] = mapped_column(String(8))
    industry_code: Mapped[str | None] = mapped_column(String(8))
    tax_wan: Mapped[float | None] = mapped_column(Float)
    sales_wan: Mapped[float | None] = mapped_column(Float)
    value_added_wan: Mapped[float | None] = mapped_column(Float)
    energy_tce: Mapped[float | None] = mapped_column(Float)
    pollutant_eq: Mapped[float | None] = mapped_column(Float)
    employees: Mapped[int | None] = mapped_column(Integer)
    rd_wan: Mapped[float | None] = mapped_column(Float)
    land_area_mu: Mapped[float | None] = mapped_column(Float)
    parcel_codes: Mapped[str | None] = mapped_column(Text)
    years_in_production: Mapped[float | None] = mapped_column(Float)
    is_utility: Mapped[bool] = mapped_column(Boolean, default=False)
    veto_safety_accident: Mapped[bool] = mapped_column(Boolean, default=False)
    veto_env_penalty: Mapped[bool] = mapped_column(Boolean, default=False)
    electricity_kwh: Mapped[float | None] = mapped_column(Float)
    water_m3: Mapped[float | None] = mapped_column(Float)
    gas_m3: Mapped[float | None] = mapped_column(Float)
    sewage_m3: Mapped[float | None] = mapped_column(Float)
    batch_id: Mapped[int] = mapped_column(ForeignKey("ingest_batch.id"))


class FirmParcel(Base):
    """Which parcels a firm occupies in a year (from the firm list's parcel codes)."""

    __tablename__ = "firm_parcel"
    __table_args__ = (Index("ix_firm_parcel_parcel", "parcel_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    year: Mapped[int] = mapped_column(Integer)
    parcel_code: Mapped[str] = mapped_column(String(19))
    batch_id: Mapped[int] = mapped_column(ForeignKey("ingest_batch.id"))


class Evidence(BoundsMixin, Base):
    """An entry of an evidence list: 危 hazards, 污 pollution, 乱 enforcement, 批而未供, 闲置.

    Common fields are columns; the rest of the list's fields are kept in ``attrs`` (JSON)
    under their canonical names, so every list keeps everything it delivered.
    """

    __tablename__ = "evidence"
    __table_args__ = (UniqueConstraint("kind", "record_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    record_id: Mapped[str] = mapped_column(Text)
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    parcel_code: Mapped[str | None] = mapped_column(String(19), index=True)
    district_code: Mapped[str | None] = mapped_column(String(6))
    event_date: Mapped[date | None] = mapped_column(Date)
    category: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(Text)
    attrs: Mapped[dict] = mapped_column(JSON)
    batch_id: Mapped[int] = mapped_column(ForeignKey("ingest_batch.id"))


class AnalysisRun(Base):
    """One analysis run: what went in (data, policy, code), what came out, how long each step took."""

    __tablename__ = "analysis_run"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))
    as_of: Mapped[date] = mapped_column(Date)
    year: Mapped[int | None] = mapped_column(Integer)
    profile_id: Mapped[str] = mapped_column(String(64))
    profile_version: Mapped[str] = mapped_column(String(32))
    profile_digest: Mapped[str] = mapped_column(String(64))
    input_hash: Mapped[str] = mapped_column(String(64))
    code_version: Mapped[str] = mapped_column(String(64))
    timings: Mapped[dict] = mapped_column(JSON)
    counts: Mapped[dict] = mapped_column(JSON)
    user: Mapped[str] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)


class RunParcel(Base):
    """A flagged parcel of a run: where it lies, its class, its tags, its unit."""

    __tablename__ = "run_parcel"
    __table_args__ = (UniqueConstraint("run_id", "parcel_key"),
                      Index("ix_run_parcel_district_area", "run_id", "district_code", "area_mu"),
                      Index("ix_run_parcel_area", "run_id", "area_mu"), Index("ix_run_parcel_unit", "run_id", "unit_id"),
                      Index("ix_run_parcel_tags", "run_id", "tags"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("analysis_run.id", ondelete="CASCADE"), index=True)
    parcel_key: Mapped[str] = mapped_column(String(64))
    district_code: Mapped[str] = mapped_column(String(6))
    dlbm: Mapped[str | None] = mapped_column(String(8))
    area_mu: Mapped[float] = mapped_column(Float)
    space: Mapped[str | None] = mapped_column(String(16))
    park_name: Mapped[str | None] = mapped_column(Text)
    plan_zone: Mapped[str | None] = mapped_column(Text)
    planned_code: Mapped[str | None] = mapped_column(String(8))
    firm_class: Mapped[str | None] = mapped_column(String(2))
    firm_uscc: Mapped[str | None] = mapped_column(String(18))
    tags: Mapped[str] = mapped_column(String(8))
    rule_ids: Mapped[str] = mapped_column(Text)
    unit_id: Mapped[int | None] = mapped_column(Integer)


class RunTagHit(Base):
    """One rule that tagged a parcel in a run, with its evidence."""

    __tablename__ = "run_tag_hit"
    __table_args__ = (Index("ix_run_tag_hit_tag", "run_id", "tag", "parcel_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("analysis_run.id", ondelete="CASCADE"), index=True)
    parcel_key: Mapped[str] = mapped_column(String(64), index=True)
    tag: Mapped[str] = mapped_column(String(2))
    rule_id: Mapped[str] = mapped_column(String(64))
    clause: Mapped[str] = mapped_column(Text)
    evidence_kind: Mapped[str] = mapped_column(String(32))
    evidence_id: Mapped[str | None] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(Text)
    threshold: Mapped[str | None] = mapped_column(Text)
    note_zh: Mapped[str | None] = mapped_column(Text)
    note_en: Mapped[str | None] = mapped_column(Text)


class RunFirm(Base):
    """A firm's 亩均 evaluation in a run: score, rank, class, and why."""

    __tablename__ = "run_firm"
    __table_args__ = (UniqueConstraint("run_id", "uscc"), Index("ix_run_firm_district", "run_id", "district_code"),
                      Index("ix_run_firm_score", "run_id", "score"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("analysis_run.id", ondelete="CASCADE"), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    name: Mapped[str] = mapped_column(Text)
    district_code: Mapped[str] = mapped_column(String(6))
    group: Mapped[str] = mapped_column(String(8))
    score: Mapped[float | None] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer)
    firm_class: Mapped[str] = mapped_column(String(2))
    class_rule: Mapped[str] = mapped_column(String(64))
    class_reason_zh: Mapped[str | None] = mapped_column(Text)
    class_reason_en: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSON)
    path: Mapped[str | None] = mapped_column(String(64))
    path_zh: Mapped[str | None] = mapped_column(Text)
    path_rule: Mapped[str | None] = mapped_column(String(64))
    land_supply: Mapped[str | None] = mapped_column(String(32))
    energy_quota: Mapped[str | None] = mapped_column(String(32))
    surcharge_total_yuan: Mapped[float | None] = mapped_column(Float)


class NameSearch(Base):
    """The searched text of each firm-year (USCC, name) with its character bigrams, for the map's
    search (``store.textindex``; FTS5 on SQLite, GIN on PostgreSQL: 0009; parcels left it in 0013)."""

    __tablename__ = "name_search"
    __table_args__ = (Index("ix_name_search_kind_ref", "kind", "ref"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    tokens: Mapped[str] = mapped_column(Text)


class RunSearch(Base):
    """The searchable text of each row of a run's lists (the columns a list's ``q`` searches), so
    the lists' text search reads an index of its character bigrams (FTS5 on SQLite, GIN on PostgreSQL: 0010)."""

    __tablename__ = "run_search"
    __table_args__ = (Index("ix_run_search_run_list", "run_id", "list"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("analysis_run.id", ondelete="CASCADE"))
    list: Mapped[str] = mapped_column(String(32))
    ref: Mapped[int] = mapped_column(Integer)  # the row's id in its run table
    body: Mapped[str] = mapped_column(Text)
    tokens: Mapped[str] = mapped_column(Text)  # the body's character bigrams (landrenew.bigrams)


class RunUnit(Base):
    """A 连片 redevelopment unit of a run."""

    __tablename__ = "run_unit"
    __table_args__ = (UniqueConstraint("run_id", "unit_id"), Index("ix_run_unit_area", "run_id", "area_mu"),
                      Index("ix_run_unit_tags", "run_id", "tags"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("analysis_run.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(Integer)
    n_parcels: Mapped[int] = mapped_column(Integer)
    area_mu: Mapped[float] = mapped_column(Float)
    tags: Mapped[str | None] = mapped_column(Text)
    members: Mapped[str] = mapped_column(Text)


class RunCase(Base):
    """A recommended case of a run: a 连片 unit or a single parcel, its path, priority and yield."""

    __tablename__ = "run_case"
    __table_args__ = (UniqueConstraint("run_id", "case_id"), Index("ix_run_case_district", "run_id", "district_code"),
                      Index("ix_run_case_priority", "run_id", "priority"), Index("ix_run_case_unit", "run_id", "unit_id"),
                      Index("ix_run_case_keys", "run_id", "parcel_keys"), Index("ix_run_case_area", "run_id", "area_mu"),
                      Index("ix_run_case_tags", "run_id", "tags"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("analysis_run.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int | None] = mapped_column(Integer)
    n_parcels: Mapped[int] = mapped_column(Integer)
    parcel_keys: Mapped[str] = mapped_column(Text)
    district_code: Mapped[str | None] = mapped_column(String(6))
    area_mu: Mapped[float] = mapped_column(Float)
    construction_mu: Mapped[float | None] = mapped_column(Float)
    tags: Mapped[str | None] = mapped_column(String(16))
    matched: Mapped[bool] = mapped_column(Boolean)
    family: Mapped[str | None] = mapped_column(String(32))
    path: Mapped[str | None] = mapped_column(String(64))
    path_zh: Mapped[str | None] = mapped_column(Text)
    rule_id: Mapped[str | None] = mapped_column(String(64))
    clause: Mapped[str | None] = mapped_column(Text)
    reason_zh: Mapped[str | None] = mapped_column(Text)
    reason_en: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[float] = mapped_column(Float)
    vacated_mu: Mapped[float] = mapped_column(Float)
    cultivated_mu: Mapped[float] = mapped_column(Float)
    paddy_mu: Mapped[float] = mapped_column(Float)
    grain_kg: Mapped[float] = mapped_column(Float)
    construction_quota_mu: Mapped[float] = mapped_column(Float)
    stock_linkage_mu: Mapped[float] = mapped_column(Float)


# --------------------------------------------------------------------------- targets' sources


class LandSupply(Base):
    """A land-supply record (供地): when, where, how much, new or stock land, and how."""

    __tablename__ = "land_supply"
    __table_args__ = (UniqueConstraint("record_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(String(64))
    parcel_code: Mapped[str | None] = mapped_column(String(19), index=True)
    district_code: Mapped[str] = mapped_column(String(6))
    supply_date: Mapped[date] = mapped_column(Date)
    area_mu: Mapped[float] = mapped_column(Float)
    land_source: Mapped[str] = mapped_column(String(8))  # new | stock
    mode: Mapped[str] = mapped_column(String(8))  # 出让 | 划拨 | 租赁 | 先租后让
    ydyh_code: Mapped[str | None] = mapped_column(String(8))
    batch_id: Mapped[int] = mapped_column(ForeignKey("ingest_batch.id"))


class DistrictYear(Base):
    """Yearly statistics of a district: GDP, construction land and total land area."""

    __tablename__ = "district_year"
    __table_args__ = (UniqueConstraint("district_code", "year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(String(6))
    year: Mapped[int] = mapped_column(Integer)
    gdp_yi: Mapped[float | None] = mapped_column(Float)  # 亿元
    construction_land_mu: Mapped[float | None] = mapped_column(Float)
    total_area_mu: Mapped[float | None] = mapped_column(Float)
    cultivated_land_mu: Mapped[float | None] = mapped_column(Float)
    batch_id: Mapped[int] = mapped_column(ForeignKey("ingest_batch.id"))


# --------------------------------------------------------------------------- cases


class ClearanceCase(Base):
    """A clearance case (出清项目) opened from a run's recommendation, worked through its workflow.

    ``version`` grows with every change; an update naming an older version is refused.
    ``milestones`` maps each state reached to its date; ``data`` holds the values entered on the
    way (e.g. accepted area and farmland grade at 验收).
    """

    __tablename__ = "clearance_case"
    __table_args__ = (UniqueConstraint("case_no"),
                      Index("ix_clearance_case_recommendation", "run_id", "run_case_id", "id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(32))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("analysis_run.id", ondelete="SET NULL"), index=True)
    run_case_id: Mapped[str | None] = mapped_column(String(32))
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    family: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(64))
    rule_id: Mapped[str] = mapped_column(String(64))
    workflow_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer)
    area_mu: Mapped[float] = mapped_column(Float)
    construction_mu: Mapped[float] = mapped_column(Float)
    n_parcels: Mapped[int] = mapped_column(Integer)
    parcel_keys: Mapped[str] = mapped_column(Text)
    tags: Mapped[str | None] = mapped_column(String(16))
    priority: Mapped[float] = mapped_column(Float)
    estimate: Mapped[dict] = mapped_column(JSON)
    milestones: Mapped[dict] = mapped_column(JSON)
    data: Mapped[dict] = mapped_column(JSON)
    opened_at: Mapped[date] = mapped_column(Date)
    closed_at: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CaseParcel(Base):
    """The parcels of a case; a parcel is in at most one case that is still open."""

    __tablename__ = "case_parcel"
    __table_args__ = (UniqueConstraint("case_id", "parcel_key"), Index("ix_case_parcel_parcel", "parcel_key"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("clearance_case.id", ondelete="CASCADE"), index=True)
    parcel_key: Mapped[str] = mapped_column(String(64))


class CaseEvent(Base):
    """An append-only event of a case: opened, moved from a state to another, commented, attached."""

    __tablename__ = "case_event"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("clearance_case.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, … per case (= the case version it produced)
    action: Mapped[str] = mapped_column(String(16))  # open | transition | comment
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    event_date: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON)
    attachment_name: Mapped[str | None] = mapped_column(Text)
    attachment_sha256: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: hash chain in id order (``audit``): the previous row's ``row_hash`` and this row's
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))


# --------------------------------------------------------------------------- quota ledger


class QuotaAccount(Base):
    """An account of one quota kind: a district's, the city pool, or a system account.

    System accounts (``owner`` ``issued`` / ``consumed``) are where quota comes from and goes
    to; every other balance stays at or above zero. ``balance`` is kept with every transfer
    and recomputed from the transfers by ``ledger verify``.
    """

    __tablename__ = "quota_account"
    __table_args__ = (UniqueConstraint("owner", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(16))  # district code | city | issued | consumed
    kind: Mapped[str] = mapped_column(String(32))
    balance: Mapped[float] = mapped_column(Float)


class QuotaTransfer(Base):
    """An immutable double-entry transfer between two accounts of one kind.

    ``transfer_id`` is chosen by the client, so a retried request finds its transfer instead of
    posting twice. A correction is a new transfer that ``compensates`` an earlier one.
    """

    __tablename__ = "quota_transfer"
    __table_args__ = (UniqueConstraint("transfer_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # posting order
    transfer_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    debit_account_id: Mapped[int] = mapped_column(ForeignKey("quota_account.id"), index=True)
    credit_account_id: Mapped[int] = mapped_column(ForeignKey("quota_account.id"), index=True)
    amount: Mapped[float] = mapped_column(Float)
    transfer_type: Mapped[str] = mapped_column(String(16))  # credit | transfer | spend | compensate
    price_yuan_per_mu: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("clearance_case.id"), index=True)
    rule_id: Mapped[str | None] = mapped_column(String(64))
    compensates: Mapped[str | None] = mapped_column(String(64))
    value_date: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: hash chain in id order (``audit``): the previous row's ``row_hash`` and this row's
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    row_hash: Mapped[str | None] = mapped_column(String(64))


# --------------------------------------------------------------------------- users of the web app


class AppUser(Base):
    """A person who signs in: a role of the profile (``operations.roles``) and, for a district
    role, its district. Only an argon2 hash of the password is kept."""

    __tablename__ = "app_user"
    __table_args__ = (UniqueConstraint("name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    district_code: Mapped[str | None] = mapped_column(String(6))
    password_hash: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A signed-in browser: the SHA-256 of the cookie's random id, its CSRF token and expiry."""

    __tablename__ = "web_session"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: its latest request (kept to the minute): an idle session ends
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A token for scripts (``Authorization: Bearer …``); only its SHA-256 is kept."""

    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("token_hash"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
