"""Uploads waiting for a load: a delivered file is kept under ``WORKSPACE/uploads/<id>/``,
validated without loading anything, and loaded when someone confirms.

The client's file name never makes a path: only a cleaned base name is used, inside a folder
named by a random id; a zip (a Shapefile's parts, a File GDB) is unpacked entry by entry and
refused as a whole when an entry would land outside its folder.
"""

from __future__ import annotations

import errno
import json
import re
import shutil
import stat
import time
import unicodedata
import zipfile
import zlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from secrets import token_hex
from typing import BinaryIO

import pandas as pd
from sqlalchemy import Engine, select

from landrenew.intake.read import SPATIAL_SUFFIXES, TABLE_SUFFIXES
from landrenew.intake.report import IntakeReport
from landrenew.intake.schema import KINDS, LAYER_KINDS, SourceKind
from landrenew.loading import LoadResult, load_file
from landrenew.policy import Profile
from landrenew.store import Workspace
from landrenew.store.models import IngestBatch

ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
#: entries an uploaded zip may hold: a Shapefile has about eight parts and a File GDB a few hundred files;
#: 100,000 empty entries take ~20 s and as many files to unpack
MAX_ZIP_ENTRIES = 10_000
#: how many problems a report returns inline (the written report holds them all)
ISSUE_LIMIT = 1000
_CHUNK = 1 << 20
_DATA_SUFFIXES = (set(SPATIAL_SUFFIXES) | set(TABLE_SUFFIXES)) - {".gdb"}


class UploadError(Exception):
    """An upload refused before validation (``status``: 413 too large, 422 unusable, 404 unknown)."""

    def __init__(self, status: int, code: str, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.status, self.code, self.zh, self.en = status, code, zh, en


@dataclass
class Upload:
    """A staged file and the options it is validated and loaded with."""

    id: str
    user: str
    kind: str
    file_name: str  # the cleaned name the user gave
    data_path: str  # relative to the upload folder: the file (or .gdb folder) to read
    created: str
    layer_kind: str | None = None
    sheet: str | None = None
    layer: str | None = None
    crs: str | None = None
    encoding: str | None = None
    batch_id: int | None = None


def load_roles(profile: Profile) -> list[str]:
    """Roles that may load a file into the store (the profile's ``operations.permissions.load``)."""
    return list(profile.operations.permissions.get("load", []))


def uploads_dir(ws: Workspace) -> Path:
    return ws.path / "uploads"


def clean_name(name: str | None, fallback: str = "upload") -> str:
    """A safe base name: no folders, no control characters, not hidden, at most 120 characters."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C" and ch not in '<>:"|?*')
    base = base.strip().lstrip(".")
    if not base:
        return fallback
    stem, dot, suffix = base.rpartition(".")
    if dot and len(suffix) <= 10:
        return stem[:110] + "." + suffix
    return base[:120]


def check_options(kind: str, layer_kind: str | None) -> None:
    """Refuse an unknown kind or a layer without a known layer kind."""
    if kind not in KINDS:
        raise UploadError(422, "kind", f"未知数据类型 {kind}（可选：{'、'.join(KINDS)}）",
                          f"unknown kind {kind} (one of {', '.join(KINDS)})")
    if kind == "layer" and layer_kind not in LAYER_KINDS:
        raise UploadError(422, "layer_kind", f"管控图层须指明图层类型（{'、'.join(LAYER_KINDS)}）",
                          f"a control layer needs its layer kind ({', '.join(LAYER_KINDS)})")


def too_large(max_bytes: int) -> UploadError:
    mb = max_bytes / (1 << 20)
    return UploadError(413, "too_large", f"文件超过 {mb:g} MB 的上限（解压后计）", f"the file exceeds the limit of {mb:g} MB "
                       "(unpacked)")


def clean_uploads(ws: Workspace, keep_days: float) -> int:
    """Remove the upload folders nobody touched (staged, validated or loaded) for ``keep_days``; the
    loads themselves stay in the store with their batch. Returns how many were removed."""
    folder = uploads_dir(ws)
    if not folder.is_dir():
        return 0
    cutoff = time.time() - keep_days * 86400
    old = [d for d in folder.iterdir() if d.is_dir() and ID_PATTERN.match(d.name) and d.stat().st_mtime < cutoff]
    for d in old:
        shutil.rmtree(d, ignore_errors=True)
    return len(old)


def stage(ws: Workspace, source: BinaryIO, file_name: str | None, max_bytes: int, *, user: str, kind: str,
          layer_kind: str | None = None, sheet: str | None = None, layer: str | None = None,
          crs: str | None = None, encoding: str | None = None, keep_days: float = 7.0) -> Upload:
    """Copy ``source`` into a new upload folder (unpacking a zip) and record its options; upload
    folders unused for ``keep_days`` go first."""
    check_options(kind, layer_kind)
    clean_uploads(ws, keep_days)
    layer_kind = layer_kind if kind == "layer" else None
    upload_id = token_hex(16)
    folder = uploads_dir(ws) / upload_id
    folder.mkdir(parents=True)
    name = clean_name(file_name)
    try:
        target = folder / name
        size = 0
        with target.open("wb") as out:
            while block := source.read(_CHUNK):
                size += len(block)
                if size > max_bytes:
                    raise too_large(max_bytes)
                out.write(block)
        if size == 0:
            raise UploadError(422, "empty", "文件为空", "the file is empty")
        data = target
        if target.suffix.lower() == ".zip":
            data = _unzip(target, folder / "files", max_bytes)
        up = Upload(upload_id, user, kind, name, data.relative_to(folder).as_posix(),
                    datetime.now(UTC).isoformat(timespec="seconds"), layer_kind, sheet or None, layer or None,
                    crs or None, encoding or None)
        _save(folder, up)
        return up
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _entry_name(info: zipfile.ZipInfo) -> str:
    """An entry's name; names written without the UTF-8 flag (Windows zips) are often GBK."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437", errors="replace")
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return info.filename


def _unzip(archive: Path, dest: Path, max_bytes: int) -> Path:
    """Unpack ``archive`` into ``dest``; return the one data file (or .gdb folder) it holds."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise UploadError(422, "bad_zip", "压缩包无法打开", "the zip file cannot be opened") from exc
    with zf:
        if len(zf.infolist()) > MAX_ZIP_ENTRIES:
            raise UploadError(422, "zip_entries", f"压缩包含 {len(zf.infolist()):,} 个文件，超过 {MAX_ZIP_ENTRIES:,} 个的上限；"
                              "请只打包要导入的数据文件",
                              f"the zip holds {len(zf.infolist()):,} files, above the limit of {MAX_ZIP_ENTRIES:,}; "
                              "zip only the data to load")
        entries = []
        for info in zf.infolist():
            name = _entry_name(info).replace("\\", "/")
            parts = PurePosixPath(name).parts
            if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts:
                raise UploadError(422, "unsafe_zip", f"压缩包含不安全的路径：{name}",
                                  f"the zip holds an unsafe path: {name}")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise UploadError(422, "unsafe_zip", f"压缩包含符号链接：{name}", f"the zip holds a symbolic link: {name}")
            if info.is_dir() or not parts or parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts):
                continue
            if info.flag_bits & 0x1:
                raise UploadError(422, "bad_zip", f"压缩包已加密：{name}；请去掉密码后重新打包",
                                  f"the zip is encrypted: {name}; zip it again without a password")
            entries.append((info, parts))
        if sum(i.file_size for i, _ in entries) > max_bytes:
            raise too_large(max_bytes)
        root = dest.resolve()
        for info, parts in entries:
            target = dest.joinpath(*parts)
            if not target.resolve().is_relative_to(root):
                raise UploadError(422, "unsafe_zip", "压缩包含不安全的路径", "the zip holds an unsafe path")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, target.open("wb") as out:
                    shutil.copyfileobj(src, out, _CHUNK)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:  # damaged, or its size lied
                raise UploadError(422, "bad_zip", f"压缩包中的 {name} 已损坏或使用了不支持的压缩方式；请用“ZIP（Deflate）”"
                                  "格式重新打包", f"{name} in the zip is damaged or compressed in an unsupported way; "
                                  "zip it again as plain ZIP (Deflate)") from exc
            except (FileExistsError, IsADirectoryError, NotADirectoryError) as exc:  # a name both file and folder
                raise UploadError(422, "bad_zip", f"压缩包中的 {name} 与另一文件或文件夹重名；请重新打包",
                                  f"{name} in the zip clashes with another file or folder of the same name; "
                                  "zip it again") from exc
            except OSError as exc:
                if exc.errno != errno.ENAMETOOLONG:
                    raise
                raise UploadError(422, "bad_zip", f"压缩包中的文件名过长：{name[:80]}…；请改短后重新打包",
                                  f"a file name in the zip is too long: {name[:80]}…; shorten it and zip again") from exc
    gdbs = sorted(p for p in dest.rglob("*.gdb") if p.is_dir())
    files = sorted(p for p in dest.rglob("*") if p.is_file() and p.suffix.lower() in _DATA_SUFFIXES
                   and not any(g in p.parents for g in gdbs))
    found = gdbs + files
    if not found:
        raise UploadError(422, "zip_empty", "压缩包中没有可读的数据文件（.shp .gpkg .gdb .geojson .xlsx .csv 等）",
                          "the zip holds no data file (.shp .gpkg .gdb .geojson .xlsx .csv …)")
    if len(found) > 1:
        names = "、".join(p.relative_to(dest).as_posix() for p in found[:10])
        raise UploadError(422, "zip_many", f"压缩包中有多个数据文件（{names}），请一次上传一个",
                          f"the zip holds several data files ({names}); upload one at a time")
    return found[0]


def _save(folder: Path, up: Upload) -> None:
    (folder / "upload.json").write_text(json.dumps(asdict(up), ensure_ascii=False), encoding="utf-8")


def get_upload(ws: Workspace, upload_id: str, user: str) -> Upload:
    """The staged upload ``upload_id`` of ``user`` (another user's upload is not found)."""
    meta = uploads_dir(ws) / upload_id / "upload.json" if ID_PATTERN.match(upload_id) else None
    if meta is None or not meta.is_file():
        raise UploadError(404, "no_upload", "没有这个上传文件（或已过期）", "no such upload (or it has expired)")
    up = Upload(**json.loads(meta.read_text(encoding="utf-8")))
    if up.user != user:
        raise UploadError(404, "no_upload", "没有这个上传文件（或已过期）", "no such upload (or it has expired)")
    return up


def _path(ws: Workspace, up: Upload) -> Path:
    return uploads_dir(ws) / up.id / up.data_path


def _run(ws: Workspace, profile: Profile, up: Upload, **kw: object) -> LoadResult:
    return load_file(ws, profile, up.kind, _path(ws, up), layer_kind=up.layer_kind, sheet=up.sheet, layer=up.layer,
                     crs=up.crs, encoding=up.encoding, user=up.user, **kw)  # type: ignore[arg-type]


def validate_upload(ws: Workspace, profile: Profile, up: Upload) -> IntakeReport:
    """Every check of a load, nothing stored; the full report is written beside the upload."""
    report = _run(ws, profile, up, skip_invalid=True, dry_run=True).report
    report.write(report_path(ws, up))
    return report


def load_upload(ws: Workspace, profile: Profile, up: Upload, skip_invalid: bool = False) -> LoadResult:
    """Load the staged file (validated again: refused as a whole on errors unless ``skip_invalid``)."""
    if up.batch_id is not None:
        raise UploadError(409, "loaded", f"该文件已导入（批次 {up.batch_id}）", f"already loaded (batch {up.batch_id})")
    result = _run(ws, profile, up, skip_invalid=skip_invalid)
    result.report.write(report_path(ws, up))
    if result.loaded:
        up.batch_id = result.batch_id
        _save(uploads_dir(ws) / up.id, up)
    return result


def report_path(ws: Workspace, up: Upload) -> Path:
    return uploads_dir(ws) / up.id / "report.xlsx"


def report_dict(report: IntakeReport, limit: int = ISSUE_LIMIT) -> dict:
    """A report as JSON: counts, whether it can load, and the first ``limit`` problems."""
    df = report.frame()
    issues = []
    for r in df.head(limit).to_dict("records"):
        issues.append({k: (None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else
                           int(v) if k == "row" else v) for k, v in r.items()})
    rejected = len(report.rejected)
    return {"rows_read": report.rows_read, "errors": report.count("error"), "warnings": report.count("warning"),
            "repaired": report.count("repaired"), "fatal": report.fatal, "ok": report.ok,
            "rows_rejected": rejected, "rows_loadable": 0 if report.fatal else max(report.rows_read - rejected, 0),
            "issues": issues, "issues_total": len(df), "notes": list(report.notes)}


def _column_zh(kind: SourceKind, name: str) -> str:
    names = {c.name: c.zh for c in kind.columns}
    return names.get(name, "图形" if name == "geometry" else name)


def kinds() -> list[dict]:
    """Every source kind: names, accepted files, geometry, columns (required ones marked), layer kinds."""
    out = []
    for k in KINDS.values():
        out.append({"kind": k.name, "name_zh": k.zh, "name_en": k.en, "geometry": k.geometry,
                    "formats": list(k.formats), "spatial": k.geometry != "none",
                    "columns": [{"name": c.name, "zh": c.zh, "unit": c.unit, "required": c.required}
                                for c in k.columns],
                    "one_of": [[_column_zh(k, n) for n in group] for group in k.one_of],
                    "layer_kinds": [{"key": lk, "name_zh": zh, "name_en": en} for lk, (zh, en) in LAYER_KINDS.items()]
                    if k.name == "layer" else []})
    return out


def template_file(ws: Workspace, kind: str, fmt: str = "xlsx", layer_kind: str | None = None) -> Path:
    """The blank template ``landrenew templates`` writes for ``kind`` (xlsx with its 说明 sheet, or
    for spatial kinds a GeoPackage), written once into ``WORKSPACE/templates``."""
    from landrenew.intake.templates import write_templates

    if kind not in KINDS:
        raise UploadError(404, "kind", f"未知数据类型 {kind}", f"unknown kind {kind}")
    folder = ws.path / "templates"
    if not folder.is_dir() or not any(folder.iterdir()):
        write_templates(folder)
    if fmt == "gpkg":
        if KINDS[kind].geometry == "none":
            raise UploadError(404, "no_template", f"{KINDS[kind].zh}没有 GeoPackage 模板",
                              f"{kind} has no GeoPackage template")
        name = (layer_kind if layer_kind in LAYER_KINDS else next(iter(LAYER_KINDS))) if kind == "layer" else kind
        return folder / f"{name}.gpkg"
    found = sorted(folder.glob(f"{kind}_*.xlsx"))
    if not found:
        raise UploadError(404, "no_template", f"{kind} 没有模板", f"no template for {kind}")
    return found[0]


def recent_batches(engine: Engine, limit: int = 20) -> list[dict]:
    """The latest ingest batches, newest first."""
    t = IngestBatch.__table__
    q = (select(t.c.id, t.c.kind, t.c.layer_kind, t.c.file_name, t.c.sheet, t.c.rows_read, t.c.rows_loaded,
                t.c.rows_rejected, t.c.warnings, t.c.repairs, t.c.loaded_at, t.c.user)
         .order_by(t.c.id.desc()).limit(limit))
    with engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    return [{**r, "loaded_at": r["loaded_at"].isoformat() if r["loaded_at"] else None} for r in rows]
