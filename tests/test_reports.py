"""Reports: the Excel 台账, the Word briefing and its PDF, for the city and for one district, read back
with openpyxl, python-docx and pypdf and checked against the store."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import docx
import openpyxl
import pytest
from pypdf import PdfReader
from sqlalchemy import text
from typer.testing import CliRunner

from landrenew.actors import Actor, Forbidden
from landrenew.cli import app
from landrenew.reports import ReportError, make_reports
from webkit import City

AS_OF = date(2025, 12, 31)
DISTRICT = "320411"  # 新北区


@dataclass
class Made:
    city: City
    files: dict[str, dict[str, Path]]  # scope → format → file


@pytest.fixture(scope="module")
def made(web_city, profile, tmp_path_factory) -> Made:
    """The city's reports in Chinese and English, and one district's in Chinese (made once per backend)."""
    out = tmp_path_factory.mktemp("reports")
    admin = Actor("admin", "city_admin")
    engine = web_city.ws.engine
    files = {
        "city": make_reports(engine, profile, admin, out / "city", as_of=AS_OF).files,
        "district": make_reports(engine, profile, admin, out / "district", district=DISTRICT, as_of=AS_OF).files,
        "en": make_reports(engine, profile, admin, out / "en", lang="en", formats=["xlsx", "docx"], as_of=AS_OF,
                           maps=False).files,
    }
    return Made(web_city, files)


def sql(made: Made, q: str, **params) -> float:
    with made.city.ws.engine.connect() as conn:
        return conn.execute(text(q), {"run": made.city.run_id, **params}).scalar_one() or 0


def data_rows(ws) -> tuple[list[str], list[tuple]]:
    """Headers (row 3) and data rows of a 台账 sheet (the totals row left out)."""
    headers = [c.value for c in ws[3]]
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True) if r[0] not in ("合计", "Total") and any(
        v is not None for v in r)]
    return headers, rows


def district_names(profile) -> dict[str, str]:
    return {d.code: d.name_zh for d in profile.city.districts if d.code}


# --------------------------------------------------------------------------- Excel 台账


def test_the_workbook_has_a_cover_with_run_profile_and_sources_and_a_sheet_per_list(made, profile):
    wb = openpyxl.load_workbook(made.files["city"]["xlsx"])
    tags = [f"{t.char} {t.name_zh}" for t in profile.tags.values()]
    assert wb.sheetnames[:2] == ["封面", "分区汇总"] and wb.sheetnames[2:7] == tags
    assert {"亩均评价企业清单", "处置建议清单", "连片改造单元清单", "案件办理情况", "在办案件", "指标余额", "指标流水",
            "目标完成"} <= set(wb.sheetnames)
    cover = {r[0]: r[1] for r in wb["封面"].iter_rows(min_row=3, max_row=14, max_col=2, values_only=True) if r[0]}
    input_hash = sql(made, "SELECT input_hash FROM analysis_run WHERE id = :run")
    assert cover["分析批次"].startswith(str(made.city.run_id)) and cover["政策参数"].startswith(profile.id)
    assert cover["数据指纹"] == input_hash and cover["范围"] == "常州市（全市）"
    text_ = "\n".join(str(v) for r in wb["封面"].iter_rows(values_only=True) for v in r if v is not None)
    assert "数据来源（导入批次）" in text_ and ".gpkg" in text_  # the batches the data came from
    links = [c.hyperlink.location for r in wb["封面"].iter_rows() for c in r if c.hyperlink]
    assert "'分区汇总'!A1" in links and len(links) == len(wb.sheetnames) - 1


def test_each_tag_sheet_lists_exactly_the_tagged_parcels_with_their_area(made, profile):
    wb = openpyxl.load_workbook(made.files["city"]["xlsx"])
    for t in profile.tags.values():
        ws = wb[f"{t.char} {t.name_zh}"]
        headers, rows = data_rows(ws)
        assert ws.freeze_panes == "A4" and ws.auto_filter.ref.startswith("A3:")
        n = sql(made, "SELECT COUNT(*) FROM run_parcel WHERE run_id = :run AND tags LIKE :t", t=f"%{t.char}%")
        area = sql(made, "SELECT SUM(area_mu) FROM run_parcel WHERE run_id = :run AND tags LIKE :t", t=f"%{t.char}%")
        assert len(rows) == n > 0, t.char
        j = headers.index("面积（亩）")
        assert sum(r[j] for r in rows) == pytest.approx(area)
        assert all(t.char in r[headers.index("标签")] for r in rows)
        total = ws.cell(4 + n, j + 1)
        assert ws.cell(4 + n, 1).value == "合计" and total.value.startswith("=SUBTOTAL(109,")
        assert ws.cell(4, j + 1).number_format == "#,##0.00"


def test_the_summary_cases_ledger_and_targets_sheets_equal_the_store(made, profile):
    wb = openpyxl.load_workbook(made.files["city"]["xlsx"])
    headers, rows = data_rows(wb["分区汇总"])
    assert len(rows) == len(profile.city.district_codes)
    col = {h: i for i, h in enumerate(headers)}
    assert sum(r[col["标注地块（宗）"]] for r in rows) == sql(made, "SELECT COUNT(*) FROM run_parcel WHERE run_id = :run")
    assert sum(r[col["宗地总数（宗）"]] for r in rows) == sql(made, "SELECT COUNT(*) FROM parcel")
    assert sum(r[col["已立案（件）"]] for r in rows) == sql(made, "SELECT COUNT(*) FROM clearance_case")
    headers, rows = data_rows(wb["案件办理情况"])
    assert sum(r[headers.index("合计（件）")] for r in rows) == sql(made, "SELECT COUNT(*) FROM clearance_case")
    assert sum(r[headers.index("面积（亩）")] for r in rows) == pytest.approx(
        sql(made, "SELECT SUM(area_mu) FROM clearance_case"))
    _, open_rows = data_rows(wb["在办案件"])
    assert len(open_rows) == sum(r[headers.index("合计（件）")] for r in rows if r[headers.index("在办")] == "是") > 0
    headers, rows = data_rows(wb["指标余额"])
    assert len(rows) == sql(made, "SELECT COUNT(*) FROM quota_account")
    assert sum(abs(r[headers.index("余额")]) for r in rows) == pytest.approx(
        sql(made, "SELECT SUM(ABS(balance)) FROM quota_account"))
    _, rows = data_rows(wb["指标流水"])
    assert len(rows) == sql(made, "SELECT COUNT(*) FROM quota_transfer") > 0
    headers, rows = data_rows(wb["目标完成"])
    assert len(rows) == len(profile.targets.goals) * (1 + len(profile.city.district_codes))
    _, firms = data_rows(wb["亩均评价企业清单"])
    assert len(firms) == sql(made, "SELECT COUNT(*) FROM run_firm WHERE run_id = :run")


def test_a_district_workbook_holds_only_that_district(made, profile):
    wb = openpyxl.load_workbook(made.files["district"]["xlsx"])
    names = district_names(profile)
    for name in wb.sheetnames[1:]:
        headers, rows = data_rows(wb[name])
        if "行政区" in headers:
            j = headers.index("行政区")
            assert rows and all(str(r[j]).startswith(DISTRICT) for r in rows), name
    _, rows = data_rows(wb["指标余额"])
    assert {r[0] for r in rows} == {names[DISTRICT]}
    headers, rows = data_rows(wb["指标流水"])
    touched = sql(made, "SELECT COUNT(*) FROM quota_transfer t JOIN quota_account a ON a.id = t.debit_account_id "
                        "JOIN quota_account b ON b.id = t.credit_account_id WHERE a.owner = :d OR b.owner = :d",
                  d=DISTRICT)
    assert len(rows) == touched > 0
    assert all(names[DISTRICT] in (r[headers.index("转出")], r[headers.index("转入")]) for r in rows)
    headers, rows = data_rows(wb["案件办理情况"])
    others = [names[d] for d in names if d != DISTRICT]
    assert not any(any(o in h for o in others) for h in headers if h)
    assert sum(r[headers.index("合计（件）")] for r in rows) == sql(
        made, "SELECT COUNT(*) FROM clearance_case WHERE district_code = :d", d=DISTRICT)
    _, targets = data_rows(wb["目标完成"])
    assert {r[1] for r in targets} == {names[DISTRICT]}


def test_the_english_workbook_has_english_sheets_and_headers(made):
    wb = openpyxl.load_workbook(made.files["en"]["xlsx"])
    assert wb.sheetnames[:2] == ["Cover", "By district"] and "Quota transfers" in wb.sheetnames
    headers, _ = data_rows(wb["By district"])
    assert "Tagged area (mu)" in headers and "District" in headers


# --------------------------------------------------------------------------- Word


def doc_text(path: Path) -> str:
    d = docx.Document(str(path))
    parts = [p.text for p in d.paragraphs]
    parts += [c.text for t in d.tables for r in t.rows for c in r.cells]
    return "\n".join(parts)


def table_with(d, first_header: str):
    return next(t for t in d.tables if t.rows[0].cells[0].text == first_header)


def test_the_word_briefing_states_the_store_s_figures(made, profile):
    d = docx.Document(str(made.files["city"]["docx"]))
    body = doc_text(made.files["city"]["docx"])
    assert d.paragraphs[0].text == "常州市“危污乱散低”用地出清提升工作简报"
    for head in ("一、基本情况", "二、目标完成情况", "三、各区推进情况", "四、主要发现", "附件"):
        assert any(p.text == head or p.text.startswith(head) for p in d.paragraphs), head
    flagged = int(sql(made, "SELECT COUNT(*) FROM run_parcel WHERE run_id = :run"))
    parcels = int(sql(made, "SELECT COUNT(*) FROM parcel"))
    assert f"共有宗地{parcels:,}宗" in body and f"标注“危污乱散低”地块{flagged:,}宗" in body
    lists = table_with(d, "类别")
    rows = {r.cells[0].text: r.cells[1].text for r in lists.rows[1:]}
    for t in profile.tags.values():
        n = int(sql(made, "SELECT COUNT(*) FROM run_parcel WHERE run_id = :run AND tags LIKE :t", t=f"%{t.char}%"))
        assert rows[f"{t.char} {t.name_zh}"] == f"{n:,}"
    assert rows["合计（去重）"] == f"{flagged:,}"
    ranking = table_with(d, "排名")
    assert len(ranking.rows) == 1 + len(profile.city.district_codes) + 1  # header, districts, total
    opened = int(sql(made, "SELECT COUNT(*) FROM clearance_case"))
    assert ranking.rows[-1].cells[5].text == f"{opened:,}"
    images = [r for r in d.part.rels.values() if "image" in r.reltype]
    assert len(images) >= 3 + 1 + len(profile.city.district_codes)  # charts, the city map, a map per district


def test_the_district_briefing_names_no_other_district(made, profile):
    names = district_names(profile)
    body = doc_text(made.files["district"]["docx"])
    assert body.startswith(f"{names[DISTRICT]}“危污乱散低”用地出清提升工作简报")
    for code, name in names.items():
        assert (name in body) == (code == DISTRICT), name
    d = docx.Document(str(made.files["district"]["docx"]))
    appendix = table_with(d, "宗地代码")
    assert all(r.cells[1].text == names[DISTRICT] for r in appendix.rows[1:])
    flagged = int(sql(made, "SELECT COUNT(*) FROM run_parcel WHERE run_id = :run AND district_code = :d", d=DISTRICT))
    assert f"标注“危污乱散低”地块{flagged:,}宗" in body


def test_the_english_briefing_is_in_english(made):
    body = doc_text(made.files["en"]["docx"])
    assert "1. Overview" in body and "Key findings" in body and "Tagged parcels" in body
    assert not re.search(r"[一二三四五]、", body)


# --------------------------------------------------------------------------- PDF


def pdf_text(path: Path) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(str(path)).pages))


def test_the_pdf_says_what_the_word_file_says(made):
    reader = PdfReader(str(made.files["city"]["pdf"]))
    assert len(reader.pages) > 5 and reader.metadata.title == "常州市“危污乱散低”用地出清提升工作简报"
    body = pdf_text(made.files["city"]["pdf"])
    assert "\ufffd" not in body and "(cid:" not in body  # every character maps back to Unicode
    flagged = int(sql(made, "SELECT COUNT(*) FROM run_parcel WHERE run_id = :run"))
    assert "一、基本情况" in body and f"标注“危污乱散低”地块{flagged:,}宗" in body
    word = re.sub(r"\s+", "", doc_text(made.files["city"]["docx"]))
    for sentence in re.findall(r"（[一二三四五]）[^（]{10,40}", word)[:5]:  # the key findings, word for word
        assert sentence in body
    fonts = {str(f.get("/BaseFont")) for p in reader.pages[:2] for f in p["/Resources"]["/Font"].values()}
    assert any("CJK" in f or "Song" in f or "Hei" in f for f in fonts), fonts


def test_the_district_pdf_names_no_other_district(made, profile):
    body = pdf_text(made.files["district"]["pdf"])
    for code, name in district_names(profile).items():
        assert (name in body) == (code == DISTRICT), name


# --------------------------------------------------------------------------- who may ask, and the CLI


def test_a_district_role_gets_its_own_district_and_may_not_ask_for_another(web_city, profile, tmp_path):
    officer = Actor("wujin", "district_officer", "320412")
    out = make_reports(web_city.ws.engine, profile, officer, tmp_path, formats=["xlsx"], as_of=AS_OF)
    assert out.files["xlsx"].name.startswith("武进区_")
    with pytest.raises(Forbidden):
        make_reports(web_city.ws.engine, profile, officer, tmp_path, district="320411", formats=["xlsx"])
    with pytest.raises(ReportError):
        make_reports(web_city.ws.engine, profile, Actor("a", "city_admin"), tmp_path, district="999999")
    for formats in (["odt"], []):
        with pytest.raises(ReportError, match="unknown format"):
            make_reports(web_city.ws.engine, profile, Actor("a", "city_admin"), tmp_path, formats=formats)


def test_the_report_command_writes_the_files_and_refuses_clearly(web_city, tmp_path):
    ws = ["--workspace", str(web_city.ws.path), "--db", web_city.ws.database_url]
    r = CliRunner().invoke(app, ["report", "--out", str(tmp_path), "--district", "320412", "--formats", "xlsx,docx",
                                 "--no-maps", "--as-of", "2025-12-31", *ws])
    assert r.exit_code == 0, r.output
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".docx", ".xlsx"]
    r = CliRunner().invoke(app, ["report", "--out", str(tmp_path), "--district", "320412", "--as",
                                 "district_officer:320411", *ws])
    assert r.exit_code == 1 and "无权查看其他行政区（320412）的报告" in r.output
    r = CliRunner().invoke(app, ["report", "--out", str(tmp_path), "--run", "99", *ws])
    assert r.exit_code == 1 and "没有分析批次 99" in r.output
