"""Read a delivered file into a raw table: original headers, user row numbers, geometry, declared CRS.

Spatial files go through pyogrio (GDAL); Excel through calamine; CSV through pandas.
Headers are found, not assumed: the best-matching of the first rows is taken, and a
two-row header with merged group cells is folded into one.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import pyproj

from landrenew.intake import messages as msg
from landrenew.intake.report import IntakeReport, Message
from landrenew.intake.schema import SourceKind

SPATIAL_SUFFIXES = {".gpkg": "gpkg", ".shp": "shp", ".gdb": "gdb", ".geojson": "geojson", ".json": "geojson",
                    ".parquet": "parquet", ".geoparquet": "parquet"}
TABLE_SUFFIXES = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xlsx", ".csv": "csv", ".txt": "csv"}
HEADER_SCAN_ROWS = 6
#: an Excel workbook is a zip of XML parts: refused when they would unpack to more than this (a 100,000-row
#: firm list is ~150 MB of XML; calamine holds a sheet's XML and all its cells in memory at once)
MAX_XLSX_UNPACKED_MB = 1024
#: cells from A1 to a sheet's last filled cell: calamine allocates that rectangle in one piece, and a single
#: value in XFD1048576 asks for 17 billion cells and aborts the process (a 100,000-row sheet of 100 columns
#: is 10 million; a grid this size costs calamine and pandas ~2 GB)
MAX_SHEET_CELLS = 20_000_000
_BRACKETS = re.compile(r"[（(\[【].*?[）)\]】]")
_SPACE = re.compile(r"[\s_\-·.:：/]+")


class Refused(Exception):
    """A file-level problem found while reading, with the message that explains it."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.problem_en)
        self.message = message


@dataclass
class RawTable:
    """A source file as read: columns under their original headers, before validation."""

    frame: pd.DataFrame
    rows: pd.Series  # user-facing row number of each record
    geometry: gpd.GeoSeries | None = None
    declared_crs: pyproj.CRS | None = None
    header_rows: list[int] = field(default_factory=list)


def normalize_header(text: object) -> str:
    """Header key for matching: no units in brackets, no spaces or punctuation, lower case."""
    s = str(text).strip().replace("（", "(").replace("）", ")")
    s = _BRACKETS.sub("", s)
    return _SPACE.sub("", s).lower()


def alias_index(kind: SourceKind) -> dict[str, str]:
    """Normalised header → canonical column name, for every name, Chinese header and alias."""
    index: dict[str, str] = {}
    for c in kind.columns:
        for a in (c.name, c.zh, *c.aliases):
            index.setdefault(normalize_header(a), c.name)
    return index


def source_format(path: Path) -> str | None:
    """'gpkg', 'shp', 'gdb', 'geojson', 'parquet', 'xlsx' or 'csv' from the file name."""
    suffix = path.suffix.lower()
    if path.is_dir() and suffix == ".gdb":
        return "gdb"
    return SPATIAL_SUFFIXES.get(suffix) or TABLE_SUFFIXES.get(suffix)


def read_raw(path: Path, kind: SourceKind, report: IntakeReport, *, sheet: str | None = None,
             layer: str | None = None, encoding: str | None = None) -> RawTable | None:
    """Read ``path``; on a file-level problem record it in ``report`` and return None."""
    fmt = source_format(path)
    formats = ", ".join(kind.formats)
    if fmt is None or fmt not in kind.formats:
        report.add("error", msg.FORMAT.format(kind=kind.zh, suffix=path.suffix or "?", formats=formats))
        return None
    try:
        if fmt in ("xlsx", "csv"):
            raw = _read_table(path, fmt, sheet, encoding)
            return _with_header(raw, kind, report)
        return _read_spatial(path, fmt, layer, encoding, report)
    except Refused as exc:
        report.add("error", exc.message)
        return None
    except Exception as exc:  # GDAL, calamine and pandas raise many kinds; all are "cannot read"
        report.add("error", msg.UNREADABLE.format(detail=str(exc).splitlines()[0][:300], formats=formats))
        return None


def _read_table(path: Path, fmt: str, sheet: str | None, encoding: str | None) -> pd.DataFrame:
    if fmt == "xlsx":
        if zipfile.is_zipfile(path):  # .xlsx/.xlsm (a legacy .xls is bounded by its format: 65,536 × 256)
            _check_workbook(path)
        return pd.read_excel(path, sheet_name=sheet or 0, header=None, engine="calamine", dtype=object)
    for enc in ([encoding] if encoding else ["utf-8-sig", "gb18030"]):
        try:
            return pd.read_csv(path, header=None, dtype=str, encoding=enc, keep_default_na=False,
                               na_values=[""], skip_blank_lines=False)
        except UnicodeDecodeError:
            continue
    raise ValueError("the CSV is neither UTF-8 nor GBK/GB18030; pass --encoding")


_CELL_COLUMN = re.compile(rb' r="([A-Z]{1,3})\d')
_ROW_NUMBER = re.compile(rb'<row[^>]*? r="(\d{1,7})"')
_TAG = re.compile(rb"<(?:\w+:)?(c|row)(?=[\s/>])([^>]*)>")
_REF = re.compile(rb'\sr="([A-Z]*)(\d*)"')


def _check_workbook(path: Path) -> None:
    """Refuse a workbook that would unpack beyond `MAX_XLSX_UNPACKED_MB` (each part is unpacked and its
    checksum checked, so a part lying about its size is caught too) or whose sheet spans more than
    `MAX_SHEET_CELLS`, before calamine reads it."""
    with zipfile.ZipFile(path) as zf:
        if sum(i.file_size for i in zf.infolist()) > MAX_XLSX_UNPACKED_MB << 20:
            raise Refused(msg.WORKBOOK_TOO_LARGE.format(limit=MAX_XLSX_UNPACKED_MB))
        for info in zf.infolist():
            with zf.open(info) as part:
                rows, cols = _sheet_extent(part) if info.filename.lower().endswith(".xml") else (0, 0)
            if rows * cols > MAX_SHEET_CELLS:
                sheet = Path(info.filename).stem
                raise Refused(msg.SHEET_TOO_LARGE.format(sheet=sheet, rows=f"{rows:,}", cols=f"{cols:,}",
                                                         limit=f"{MAX_SHEET_CELLS:,}"))


def _sheet_extent(part: zipfile.ZipExtFile) -> tuple[int, int]:
    """At least the (last row, last column) of a worksheet's XML, read in blocks: cells carry an
    ``r="B7"`` reference, except from some exporters, whose cells are then followed one by one."""
    rows = cols = row = col = 0
    tail = b""
    while block := part.read(1 << 20):
        data = tail + block
        cut = data.rfind(b"<")
        data, tail = (data[:cut], data[cut:]) if 0 <= cut > len(data) - 4096 else (data, b"")  # a split tag
        columns = _CELL_COLUMN.findall(data)
        if len(columns) == data.count(b"<c ") + data.count(b"<c>"):  # Excel's own way (else: prefixed tags …)
            numbers = _ROW_NUMBER.findall(data)
            unnumbered = data.count(b"<row ") + data.count(b"<row>") - len(numbers)
            rows = max(rows, max(map(int, numbers), default=0) + unnumbered, row + unnumbered)
            cols = max(cols, max(map(_column, set(columns)), default=0))
            continue
        for m in _TAG.finditer(data):  # cells without a reference: by position
            ref = _REF.search(m.group(2))
            if m.group(1) == b"row":
                row, col = (int(ref.group(2)) if ref and ref.group(2) else row + 1), 0
                rows = max(rows, row)
                continue
            col = _column(ref.group(1)) if ref and ref.group(1) else col + 1
            row = int(ref.group(2)) if ref and ref.group(2) else row
            rows, cols = max(rows, row), max(cols, col)
    return rows, cols


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _with_header(raw: pd.DataFrame, kind: SourceKind, report: IntakeReport) -> RawTable | None:
    """Find the header row(s) of a sheet and return the data under them."""
    index = alias_index(kind)
    top = raw.head(HEADER_SCAN_ROWS)
    hits = [sum(normalize_header(v) in index for v in row if _filled(v)) for row in top.itertuples(index=False)]
    if not hits or max(hits) == 0:
        examples = "、".join(c.zh for c in kind.columns if c.required) or kind.columns[0].zh
        report.add("error", msg.NO_HEADER.format(n=HEADER_SCAN_ROWS, examples=examples))
        return None
    h = int(np.argmax(hits))
    header = [str(v).strip() if _filled(v) else "" for v in raw.iloc[h]]
    header_rows = [h + 1]
    if h > 0:
        # Two-row header: cells merged vertically across both rows hold their text in the upper row.
        upper = raw.iloc[h - 1]
        filled_from_upper = [i for i, v in enumerate(header) if not v and _filled(upper.iloc[i])]
        if filled_from_upper and any(_filled(v) for v in upper):
            for i in filled_from_upper:
                header[i] = str(upper.iloc[i]).strip()
            header_rows = [h, h + 1]
            report.add("warning", msg.HEADER_MERGED.format(rows=f"{h}–{h + 1}"))
    keep = [i for i, v in enumerate(header) if v]
    data = raw.iloc[h + 1:, keep]
    data.columns = [header[i] for i in keep]
    data = data.loc[data.notna().any(axis=1) & (data.astype(str).apply(lambda s: s.str.strip()) != "").any(axis=1)]
    rows = pd.Series(data.index.to_numpy() + 1, index=data.index)  # 1-based sheet row numbers
    data = data.reset_index(drop=True)
    return RawTable(data, rows.reset_index(drop=True), header_rows=header_rows)


def _filled(v: object) -> bool:
    return v is not None and not (isinstance(v, float) and np.isnan(v)) and str(v).strip() != ""


def _read_spatial(path: Path, fmt: str, layer: str | None, encoding: str | None,
                  report: IntakeReport) -> RawTable | None:
    if fmt == "parquet":
        gdf = gpd.read_parquet(path)
    else:
        kwargs: dict = {"layer": layer} if layer else {}
        if fmt == "shp" and encoding is None and not path.with_suffix(".cpg").exists():
            gdf = pyogrio.read_dataframe(path, encoding="latin1", **kwargs)
            detected = _redecode(gdf)
            if detected:
                report.add("warning", msg.ENCODING_DETECTED.format(encoding=detected))
        else:  # through Arrow where the encoding is the file's own (a million parcels: 8.6 s → 2.9 s)
            gdf = pyogrio.read_dataframe(path, encoding=encoding, use_arrow=fmt != "shp", **kwargs)
    geometry = gdf.geometry
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    rows = pd.Series(np.arange(1, len(frame) + 1))  # feature number as GIS tools show it (1-based)
    if not _valid_text(frame, rows, report):
        return None
    return RawTable(frame, rows, geometry=geometry, declared_crs=gdf.crs)


def _valid_text(frame: pd.DataFrame, rows: pd.Series, report: IntakeReport) -> bool:
    """Text read through Arrow is taken as UTF-8 unchecked (a damaged GeoPackage fails later, anywhere):
    report each cell that is not, by feature and column; False when there is one."""
    ok = True
    for col in frame.columns:
        arrow = getattr(frame[col].array, "__arrow_array__", None)
        data = arrow() if arrow is not None else None
        if data is None or not (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
            continue
        try:
            data.validate(full=True)
            continue
        except pa.ArrowInvalid:
            ok = False
        raw = pd.Series(data.cast(pa.large_binary()).to_pylist(), index=frame.index)
        bad = raw.map(lambda b: b is not None and not _is_utf8(b))
        report.add("error", msg.BAD_TEXT, rows[bad], str(col), raw[bad].map(lambda b: b.decode("utf-8", "replace")))
    return ok


def _is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _redecode(gdf: gpd.GeoDataFrame) -> str | None:
    """Shapefile text read as Latin-1 holds the raw bytes: decode them as UTF-8, else GB18030 (GBK).

    Field names are re-decoded too (Chinese field names are common in bureau exports).
    Returns the encoding used when the text was not plain ASCII.
    """
    geom = gdf.geometry.name
    cols = [c for c in gdf.columns if c != geom and pd.api.types.is_string_dtype(gdf[c])]
    raw = {c: gdf[c].str.encode("latin1") for c in cols}
    names = {c: str(c).encode("latin1") for c in gdf.columns if c != geom}
    blobs = [b"".join(v.dropna().tolist()) for v in raw.values()] + list(names.values())
    if all(b.isascii() for b in blobs):
        return None
    for enc in ("utf-8", "gb18030"):
        try:
            for b in blobs:
                b.decode(enc)
        except UnicodeDecodeError:
            continue
        for c in cols:
            gdf[c] = raw[c].str.decode(enc)
        gdf.columns = [names[c].decode(enc) if c in names else c for c in gdf.columns]
        return "GBK" if enc == "gb18030" else "UTF-8"
    return None
