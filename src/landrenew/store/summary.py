"""Read-only summaries of a workspace."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, func, select

from landrenew.store.models import ControlFeature, Evidence, FirmYear, IngestBatch, Parcel


def counts(engine: Engine) -> dict[str, int]:
    """Rows per content: parcels, each control layer, firm-years, each evidence list, batches."""
    out: dict[str, int] = {}
    with engine.connect() as conn:
        out["宗地 parcels"] = conn.scalar(select(func.count()).select_from(Parcel)) or 0
        for kind, n in conn.execute(select(ControlFeature.layer_kind, func.count()).group_by(ControlFeature.layer_kind)):
            out[f"图层 layer {kind}"] = n
        out["企业年度 firm-years"] = conn.scalar(select(func.count()).select_from(FirmYear)) or 0
        for kind, n in conn.execute(select(Evidence.kind, func.count()).group_by(Evidence.kind)):
            out[f"清单 list {kind}"] = n
        out["导入批次 batches"] = conn.scalar(select(func.count()).select_from(IngestBatch)) or 0
    return out


def batches(engine: Engine, limit: int = 20) -> pd.DataFrame:
    """The latest ingest batches, newest first."""
    t = IngestBatch.__table__
    q = (select(t.c.id, t.c.kind, t.c.layer_kind, t.c.file_name, t.c.rows_loaded, t.c.rows_rejected,
                t.c.warnings, t.c.repairs, t.c.loaded_at, t.c.user).order_by(t.c.id.desc()).limit(limit))
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q).fetchall(), columns=[c.name for c in q.selected_columns])
