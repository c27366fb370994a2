"""The intake report: every problem with its row, column, what is wrong and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

Severity = Literal["error", "warning", "repaired"]
ISSUE_COLUMNS = ["severity", "row", "column", "code", "value", "problem_zh", "problem_en", "fix_zh", "fix_en"]
SEVERITY_ZH = {"error": "错误", "warning": "警告", "repaired": "已修复"}
#: headers of the written report
REPORT_HEADERS = {"severity": "级别 severity", "row": "行号 row", "column": "列 column", "code": "代码 code",
                  "value": "值 value", "problem_zh": "问题", "problem_en": "problem", "fix_zh": "修改方法",
                  "fix_en": "fix"}


@dataclass(frozen=True)
class Message:
    """A problem and its fix, in Chinese and English; ``{value}``-style fields are filled per row."""

    code: str
    problem_zh: str
    problem_en: str
    fix_zh: str
    fix_en: str

    def format(self, **kw: object) -> Message:
        """The message with its placeholders filled."""
        return Message(self.code, self.problem_zh.format(**kw), self.problem_en.format(**kw),
                       self.fix_zh.format(**kw), self.fix_en.format(**kw))


@dataclass
class IntakeReport:
    """What a reader found in one source file. Rows are numbered as the user sees them."""

    source: str
    kind: str
    rows_read: int = 0
    issues: list[pd.DataFrame] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: labels of the rows that carry at least one error (row-level problems only)
    rejected: set = field(default_factory=set)
    fatal: bool = False

    def add(self, severity: Severity, msg: Message, rows: pd.Series | list | None = None,
            column: str | None = None, values: pd.Series | list | None = None) -> None:
        """Record ``msg`` for each of ``rows`` (user row numbers) or once for the file."""
        if rows is None:
            rows_list: list = [None]
            vals: list = [None if values is None else values]
            if severity == "error":
                self.fatal = True
        else:
            rows_list = list(rows)
            vals = [None] * len(rows_list) if values is None else [None if pd.isna(v) else str(v) for v in values]
            if not rows_list:
                return
        self.issues.append(pd.DataFrame({
            "severity": severity, "row": pd.array(rows_list, dtype="Int64"), "column": column, "code": msg.code,
            "value": vals, "problem_zh": msg.problem_zh, "problem_en": msg.problem_en,
            "fix_zh": msg.fix_zh, "fix_en": msg.fix_en,
        }, columns=ISSUE_COLUMNS))

    def frame(self) -> pd.DataFrame:
        """All issues, errors first, then by row."""
        if not self.issues:
            return pd.DataFrame(columns=ISSUE_COLUMNS)
        df = pd.concat(self.issues, ignore_index=True)
        order = df["severity"].map({"error": 0, "warning": 1, "repaired": 2})
        return df.assign(_o=order).sort_values(["_o", "row"], na_position="first").drop(columns="_o").reset_index(drop=True)

    def count(self, severity: Severity) -> int:
        """Number of issues of one severity."""
        return int(sum((f["severity"] == severity).sum() for f in self.issues))

    @property
    def ok(self) -> bool:
        """True when nothing blocks a full load."""
        return self.count("error") == 0

    def write(self, path: Path) -> Path:
        """Write the report as .xlsx or .csv (UTF-8 with BOM, opens in Excel)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        df = self.frame()
        df["severity"] = df["severity"].map(lambda s: f"{SEVERITY_ZH[s]} {s}")
        df = df.rename(columns=REPORT_HEADERS)
        if path.suffix.lower() == ".xlsx":
            df.to_excel(path, index=False, sheet_name="问题清单")
        else:
            df.to_csv(path, index=False, encoding="utf-8-sig")
        return path


class IntakeError(Exception):
    """A load refused because of errors; carries the report."""

    def __init__(self, report: IntakeReport) -> None:
        super().__init__(f"{report.source}: {report.count('error')} error(s)")
        self.report = report
