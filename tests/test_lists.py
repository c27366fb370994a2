"""The lists service (landrenew.lists): totals, order, paging, filters, district restriction, Excel."""

from __future__ import annotations

import openpyxl
import pytest
from sqlalchemy import text

from landrenew import lists
from landrenew.lists import ListError, query_list
from landrenew.reports.workbook import export_list

KEYS = {"parcels": "parcel_key", "firms": "uscc", "recommendations": "case_id", "units": "unit_id"}
TABLES = {"parcels": "run_parcel", "firms": "run_firm", "recommendations": "run_case", "units": "run_unit"}


def sql(city, q: str, **kw) -> list:
    with city.ws.engine.connect() as conn:
        return list(conn.execute(text(q), {"run": city.run_id, **kw}).scalars())


def every_row(city, profile, name: str, size: int = 97, **kw) -> list[dict]:
    out, page = [], 1
    while True:
        p = query_list(city.ws.engine, profile, name, city.run_id, page=page, page_size=size, **kw)
        out += p.rows
        if page * size >= p.total:
            assert len(out) == p.total
            return out
        page += 1


@pytest.mark.parametrize("name", list(lists.LISTS))
def test_totals_equal_the_run_tables_and_the_latest_run_is_the_default(web_city, profile, name):
    n = sql(web_city, f"SELECT COUNT(*) FROM {TABLES[name]} WHERE run_id = :run")[0]
    assert n > 0
    page = query_list(web_city.ws.engine, profile, name)  # run_id None: the newest finished run
    assert page.run.id == web_city.run_id and page.total == n and len(page.rows) == min(n, 50)
    if name != "firms":
        area = sql(web_city, f"SELECT SUM(area_mu) FROM {TABLES[name]} WHERE run_id = :run")[0]
        assert page.totals["area_mu"] == pytest.approx(area)


@pytest.mark.parametrize(("name", "sort"), [("parcels", "district_code,-area_mu"), ("firms", "firm_class"),
                                             ("recommendations", "family"), ("units", "-n_parcels")])
def test_sorting_and_paging_cover_each_row_once_in_order(web_city, profile, name, sort):
    rows = every_row(web_city, profile, name, sort=sort)
    keys = [r[KEYS[name]] for r in rows]
    expected = sql(web_city, f"SELECT {KEYS[name]} FROM {TABLES[name]} WHERE run_id = :run")
    assert len(keys) == len(set(keys)) and sorted(map(str, keys)) == sorted(map(str, expected))
    first = sort.split(",")[0]
    col, desc = first.lstrip("-"), first.startswith("-")
    values = [r[col] for r in rows]
    known = [v for v in values if v is not None]
    assert values == sorted(known, reverse=desc) + [None] * (len(values) - len(known))  # nulls last
    assert len(set(values)) > 1  # ties are broken by the row id: pages still never repeat a row


def test_filters_match_direct_sql(web_city, profile):
    e = web_city.ws.engine
    p = query_list(e, profile, "parcels", filters={"district_code": "320412,320411"})
    assert p.total == sql(web_city, "SELECT COUNT(*) FROM run_parcel WHERE run_id = :run AND district_code IN ('320412', '320411')")[0]
    p = query_list(e, profile, "parcels", filters={"tags": "危污"}, page_size=500)
    assert p.total == sql(web_city, "SELECT COUNT(*) FROM run_parcel WHERE run_id = :run AND (tags LIKE '%危%' OR tags LIKE '%污%')")[0]
    assert p.total and all("危" in r["tags"] or "污" in r["tags"] for r in p.rows)
    p = query_list(e, profile, "parcels", filters={"area_mu_min": "500", "area_mu_max": "700"}, page_size=500)
    assert p.total == sql(web_city, "SELECT COUNT(*) FROM run_parcel WHERE run_id = :run AND area_mu BETWEEN 500 AND 700")[0]
    assert all(500 <= r["area_mu"] <= 700 for r in p.rows)
    p = query_list(e, profile, "firms", filters={"firm_class": "D", "q": "机械"}, page_size=500)
    assert p.total == sql(web_city, "SELECT COUNT(*) FROM run_firm WHERE run_id = :run AND firm_class = 'D' AND name LIKE '%机械%'")[0]
    assert p.total and all(r["firm_class"] == "D" and "机械" in r["name"] for r in p.rows)
    p = query_list(e, profile, "recommendations", filters={"matched": "false"})
    assert p.total == sql(web_city, "SELECT COUNT(*) FROM run_case WHERE run_id = :run AND NOT matched")[0]
    opened = sql(web_city, "SELECT case_no FROM clearance_case WHERE run_id = :run ORDER BY id LIMIT 1")[0]
    p = query_list(e, profile, "recommendations", filters={"case_no": opened})
    assert [r["case_no"] for r in p.rows] == [opened]
    p = query_list(e, profile, "units", filters={"path": "raise_plot_ratio", "n_parcels_min": "2"}, page_size=500)
    assert p.total and all(r["path"] == "raise_plot_ratio" and r["n_parcels"] >= 2 for r in p.rows)
    assert query_list(e, profile, "parcels", filters={"q": "%"}).total == 0  # wildcards are text


@pytest.mark.parametrize("filters", [{"nope": "1"}, {"area_mu": "3"}, {"area_mu_min": "x"}, {"tags": "X"},
                                     {"right_holder_min": "1"}, {"rule_ids": ""} | {"unit_id": "abc"}])
def test_unknown_columns_and_bad_values_are_refused(web_city, profile, filters):
    with pytest.raises(ListError) as err:
        query_list(web_city.ws.engine, profile, "parcels", filters=filters)
    assert err.value.zh and err.value.en


def test_unknown_list_unsortable_column_and_bad_page_are_refused(web_city, profile):
    e = web_city.ws.engine
    for kw in ({"name": "nope"}, {"name": "parcels", "sort": "right_holder"}, {"name": "parcels", "sort": "-nope"},
               {"name": "parcels", "page": 0}, {"name": "parcels", "page_size": 10_000}):
        with pytest.raises(ListError):
            query_list(e, profile, **kw)
    with pytest.raises(ListError) as err:
        query_list(e, profile, "parcels", run_id=999)
    assert err.value.code == "no_run"


@pytest.mark.parametrize("name", list(lists.LISTS))
def test_a_district_sees_only_its_rows(web_city, profile, name):
    rows = every_row(web_city, profile, name, size=500, districts={"320412"})
    assert rows and {r["district_code"] for r in rows} == {"320412"}
    if name == "units":  # every member parcel of a unit is the district's
        members = {k for r in rows for k in r["members"].split(";")}
        assert set(sql(web_city, "SELECT DISTINCT district_code FROM run_parcel WHERE run_id = :run AND parcel_key IN :keys"
                       .replace(":keys", "(" + ",".join(f"'{k}'" for k in members) + ")"))) == {"320412"}
    else:
        assert len(rows) == sql(web_city, f"SELECT COUNT(*) FROM {TABLES[name]} WHERE run_id = :run AND district_code = '320412'")[0]
    # asking for another district gives nothing, not the other district's rows
    other = query_list(web_city.ws.engine, profile, name, filters={"district_code": "320411"}, districts={"320412"})
    assert other.total == 0 and other.rows == []


def test_firm_contributions_add_up_to_the_score(web_city, profile):
    rows = every_row(web_city, profile, "firms", size=500, filters={"score_min": "0"})
    assert rows
    for r in rows:
        parts = r["contributions"]
        assert parts and all(p["name_zh"] and p["name_en"] for p in parts)
        assert sum(p["score"] or 0 for p in parts) == pytest.approx(r["score"], abs=1e-6), r["uscc"]


def test_excel_export_has_chinese_headers_totals_frozen_header_and_filter(web_city, profile, tmp_path):
    path = tmp_path / "p.xlsx"
    out = export_list(web_city.ws.engine, profile, "recommendations", path, filters={"district_code": "320412"})
    total = query_list(web_city.ws.engine, profile, "recommendations", filters={"district_code": "320412"}).total
    assert out == {"rows": total, "total": total, "truncated": False, "run_id": web_city.run_id}
    ws = openpyxl.load_workbook(path, data_only=True).active
    cover = ws["A1"].value
    assert f"分析批次 {web_city.run_id}" in cover and "基准日 2024-12-31" in cover and profile.id in cover
    assert "行政区=320412" in ws["A2"].value
    headers = [c.value for c in ws[3]]
    assert "面积（亩）" in headers and "新增粮食产能（公斤）" in headers and "优先级（分）" in headers
    assert ws.freeze_panes == "A4" and ws.auto_filter.ref.startswith("A3:")
    data = list(ws.iter_rows(min_row=4, max_row=3 + total, values_only=True))
    assert len(data) == total and ws.cell(4 + total, 1).value == "合计"
    j = headers.index("面积（亩）")
    assert ws.cell(4 + total, j + 1).value == pytest.approx(sum(r[j] for r in data))
    assert ws.cell(4, j + 1).number_format == "#,##0.00"
    assert all(str(r[headers.index("行政区")]).startswith("320412 武进区") for r in data)


def test_excel_export_is_limited_and_says_so(web_city, profile, tmp_path):
    path = tmp_path / "f.xlsx"
    out = export_list(web_city.ws.engine, profile, "firms", path, max_rows=25, lang="en")
    assert out["rows"] == 25 and out["truncated"] and out["total"] > 25
    ws = openpyxl.load_workbook(path, data_only=True).active
    assert "only the first 25 of" in ws["A2"].value
    headers = [c.value for c in ws[3]]
    assert "Land (mu)" in headers and "Tax per mu score (points)" in headers
    assert ws.cell(4 + 25, 1).value == "Total"


@pytest.mark.parametrize("name", list(lists.LISTS))
def test_warmed_totals_equal_the_live_ones(web_city, profile, name):
    d = profile.city.district_codes[1]
    views = [{}, {"filters": {"district_code": d}}, {"districts": {d}}]
    lists._TOTALS.clear()
    live = [query_list(web_city.ws.engine, profile, name, **v) for v in views]
    lists._TOTALS.clear()
    assert lists.warm_totals(web_city.ws.engine, profile) == len(lists.LISTS) * (1 + 2 * len(profile.city.district_codes))
    filled = len(lists._TOTALS.data)
    warm = [query_list(web_city.ws.engine, profile, name, **v) for v in views]
    assert len(lists._TOTALS.data) == filled  # every view was answered from the warmed totals
    for a, b in zip(live, warm, strict=True):
        assert a.total == b.total and a.totals == pytest.approx(b.totals)
    assert live[0].total == sum(query_list(web_city.ws.engine, profile, name, districts={c}).total
                                for c in profile.city.district_codes)


@pytest.mark.parametrize("name", list(lists.LISTS))
def test_the_text_index_finds_what_a_scan_finds(web_city, profile, name):
    from sqlalchemy import delete

    first = query_list(web_city.ws.engine, profile, name, page_size=20).rows
    values = [str(r[k]) for r in first for k in lists.get_list(name).search if r.get(k)]
    probes = {v[1:3] for v in values[:5]} | {v[1:5].lower() for v in values[:5]} | {"%", "zz-no-such"}

    def totals() -> dict[str, int]:
        lists._TOTALS.clear()
        return {q: query_list(web_city.ws.engine, profile, name, filters={"q": q}).total for q in probes}

    indexed = totals()
    with web_city.ws.engine.begin() as conn:
        conn.execute(delete(lists.RS).where(lists.RS.c.run_id == web_city.run_id))
    try:
        assert totals() == indexed and any(indexed.values())
    finally:
        with web_city.ws.engine.begin() as conn:
            assert lists.index_run_text(conn, web_city.run_id, lists.run_info(web_city.ws.engine).year) == len(lists.LISTS)
