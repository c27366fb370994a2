"""What each source kind must hold: canonical columns, their Chinese headers and aliases.

This table is the single source of truth for the readers, the templates
(`landrenew templates DIR`), the demo city and `docs/data-formats.md`
(a test fails when the doc misses a column or alias).

Header matching ignores case, spaces, full-width brackets and units in brackets,
so ``实缴税金（万元）``, ``实缴税金(万元)`` and ``实缴税金`` all match.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

ColumnType = Literal["str", "int", "float", "date", "bool", "tribool", "district", "parcel_code", "uscc", "codes"]
Geometry = Literal["polygon", "optional_polygon", "none"]


@dataclass(frozen=True)
class Column:
    """One canonical column of a source kind."""

    name: str
    zh: str
    type: ColumnType
    aliases: tuple[str, ...] = ()
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    #: the value must be greater than 0 (areas, GDP); checked instead of ``minimum``
    positive: bool = False
    #: what the value is measured in; a header naming another unit of the same kind is converted
    #: (``供地面积（公顷）`` → 亩, ``地区生产总值（万元）`` → 亿元; see ``validate.UNITS``)
    unit: str = ""
    #: allowed values, each with the synonyms that map to it: (("规上", "规模以上", …), …)
    choices: tuple[tuple[str, ...], ...] = ()
    help_zh: str = ""
    help_en: str = ""


@dataclass(frozen=True)
class SourceKind:
    """A kind of delivered source (a layer or a list) and how it is read."""

    name: str
    zh: str
    en: str
    geometry: Geometry
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    #: at least one column of each group must be present and filled on every row
    one_of: tuple[tuple[str, ...], ...] = ()
    formats: tuple[str, ...] = field(default=("gpkg", "shp", "gdb", "geojson", "parquet"))
    #: cross-field checks: the parcel code's county prefix must equal the district code
    parcel_in_district: bool = False
    #: date columns (or year columns) that cannot lie after today (this year)
    not_future: tuple[str, ...] = ()
    #: (parts, whole): the sum of the ``parts`` columns filled on a row cannot exceed ``whole``
    not_above: tuple[tuple[tuple[str, ...], str], ...] = ()

    def column(self, name: str) -> Column:
        """The column named ``name`` (canonical)."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


DISTRICT = Column(
    "district_code", "行政区代码", "district",
    ("XZQDM", "QXDM", "区县代码", "行政区划代码", "所在区代码", "district", "county_code"),
    required=True, help_zh="6 位县级行政区划代码，如 320412", help_en="6-digit county code, e.g. 320412",
)
PARCEL_CODE = Column(
    "parcel_code", "宗地代码", "parcel_code", ("ZDDM", "宗地编码", "宗地号", "parcel", "parcel_id"),
    help_zh="19 位宗地代码（GB/T 37346）", help_en="19-character parcel code (GB/T 37346)",
)
USCC = Column(
    "uscc", "统一社会信用代码", "uscc", ("USCC", "TYSHXYDM", "信用代码", "社会信用代码", "credit_code"),
    help_zh="18 位统一社会信用代码（GB 32100）", help_en="18-character unified social credit code (GB 32100)",
)

PARCELS = SourceKind(
    "parcels", "宗地/地块", "parcels", "polygon",
    (
        PARCEL_CODE,
        Column("bsm", "标识码", "str", ("BSM", "TBBH", "图斑编号", "图斑标识码"),
               help_zh="三调图斑标识码（无宗地代码时必填）", help_en="三调 feature id (required when no parcel code)"),
        Column("dlbm", "地类编码", "str", ("DLBM", "三调地类编码", "land_use_code"),
               help_zh="三调地类编码，如 0601", help_en="三调 land-use code, e.g. 0601"),
        Column("dlmc", "地类名称", "str", ("DLMC", "land_use_name")),
        Column("ydyh_code", "用地用海代码", "str", ("YDYHDM", "YDYHFLDM", "用地用海分类代码", "ydyh"),
               help_zh="用地用海分类代码，如 100101", help_en="用地用海 land/sea-use code, e.g. 100101"),
        DISTRICT,
        Column("right_holder", "权利人", "str", ("QLR", "QLRMC", "权利人名称", "土地使用权人", "holder")),
        Column("approval_date", "批准日期", "date", ("PZRQ", "农转用批准日期", "approved")),
        Column("supply_date", "供地日期", "date", ("GDRQ", "出让日期", "划拨日期", "supplied")),
        Column("contract_start_date", "约定开工日期", "date", ("YDKGRQ", "合同约定开工日期", "contract_start")),
        Column("actual_start_date", "实际开工日期", "date", ("SJKGRQ", "开工日期", "actual_start")),
        Column("floor_area_m2", "建筑面积", "float", ("JZMJ", "总建筑面积", "floor_area"), minimum=0, unit="m²"),
        Column("declared_area_m2", "宗地面积", "float", ("ZDMJ", "TBMJ", "图斑面积", "登记面积", "area_m2"),
               minimum=0, unit="m²", help_zh="登记面积，用于与几何面积核对",
               help_en="registered area, checked against the geometry"),
    ),
    key=("parcel_code", "bsm"),
    one_of=(("parcel_code", "bsm"),),
    parcel_in_district=True,
)

LAYER_KINDS: dict[str, tuple[str, str]] = {
    "eco_redline": ("生态保护红线", "ecological protection red line"),
    "basic_farmland": ("永久基本农田", "permanent basic farmland"),
    "urban_boundary": ("城镇开发边界", "urban development boundary"),
    "industrial_line": ("工业用地保障线", "industrial land protection line"),
    "industrial_park": ("工业园区/集中区", "industrial park / concentration area"),
    "planned_use": ("详细规划用地（规划用途）", "planned land use (detailed plan)"),
    "district_boundary": ("行政区界线", "district boundary"),
}
#: layer kinds that are a base map, not a control line: the analysis never reads them
BASE_LAYER_KINDS = ("district_boundary",)

LAYER = SourceKind(
    "layer", "管控图层", "control layer", "polygon",
    (
        Column("feature_id", "编号", "str", ("BSM", "BH", "code", "id", "区块编号")),
        Column("name", "名称", "str", ("MC", "名称", "园区名称", "name")),
        Column("district_code", "行政区代码", "district", DISTRICT.aliases,
               help_zh="行政区界线（district_boundary）必填：每个区一个面",
               help_en="required for district_boundary layers: one polygon per district"),
        Column("ydyh_code", "规划用途代码", "str", ("规划用地代码", "规划用地用海代码", "GHYDDM", "YDDM", "用地代码", "planned_use"),
               help_zh="详细规划用地（planned_use）必填：用地用海分类代码，如 1001 工业用地、0901 商业用地",
               help_en="required for planned_use layers: 用地用海 code, e.g. 1001 industrial, 0901 commercial"),
    ),
    key=("feature_id",),
)

FIRMS = SourceKind(
    "firms", "企业亩均数据", "enterprises", "none",
    (
        replace(USCC, required=True),
        Column("name", "企业名称", "str", ("QYMC", "单位名称", "企业名", "firm_name"), required=True),
        DISTRICT,
        Column("year", "评价年度", "int", ("年度", "统计年度", "year"), required=True, minimum=2000, maximum=2100),
        Column("group", "企业规模", "str", ("规模", "规上规下", "企业类型", "size_group"), required=True,
               choices=(("规上", "规模以上", "规上企业", "规模以上工业企业", "above"),
                        ("规下", "规模以下", "规下企业", "规模以下工业企业", "below")),
               help_zh="规上 或 规下", help_en="规上 (above scale) or 规下 (below scale)"),
        Column("industry_code", "行业代码", "str", ("HYDM", "国民经济行业代码", "industry")),
        Column("tax_wan", "实缴税金", "float", ("税收", "实缴税金总额", "SSJE", "tax"), minimum=0, unit="万元"),
        Column("sales_wan", "销售收入", "float", ("开票销售收入", "营业收入", "主营业务收入", "sales"), minimum=0, unit="万元"),
        Column("value_added_wan", "工业增加值", "float", ("增加值", "value_added"), minimum=0, unit="万元"),
        Column("energy_tce", "综合能耗", "float", ("能耗", "总能耗", "energy"), minimum=0, unit="吨标准煤"),
        Column("pollutant_eq", "主要污染物排放当量", "float", ("污染物排放当量", "排污当量", "pollutant"), minimum=0, unit="当量吨"),
        Column("employees", "从业人员", "int", ("从业人数", "职工人数", "年平均职工人数", "employees"), minimum=0, unit="人"),
        Column("rd_wan", "研发经费", "float", ("研发投入", "R&D经费", "研发费用", "rd"), minimum=0, unit="万元"),
        Column("land_area_mu", "用地面积", "float", ("占地面积", "土地面积", "land_area"), minimum=0, unit="亩"),
        Column("parcel_codes", "宗地代码", "codes", ("ZDDM", "关联宗地", "宗地编码", "parcels"),
               help_zh="多个宗地代码以分号分隔", help_en="several parcel codes separated by ;"),
        Column("years_in_production", "投产年限", "float", ("投产年数", "生产年限", "years_in_production"), minimum=0, unit="年"),
        Column("is_utility", "公用事业", "bool", ("是否公用事业", "utility")),
        Column("veto_safety_accident", "重大安全事故", "bool", ("发生重大安全事故", "安全事故否决", "safety_veto")),
        Column("veto_env_penalty", "环境违法处罚", "bool", ("重大环境违法", "环保否决", "env_veto")),
        Column("electricity_kwh", "用电量", "float", ("年用电量", "electricity"), minimum=0, unit="千瓦时"),
        Column("water_m3", "用水量", "float", ("年用水量", "water"), minimum=0, unit="立方米"),
        Column("gas_m3", "用气量", "float", ("天然气用量", "gas"), minimum=0, unit="立方米"),
        Column("sewage_m3", "污水排放量", "float", ("排水量", "sewage"), minimum=0, unit="立方米"),
    ),
    key=("uscc", "year"),
    formats=("xlsx", "csv"),
)

HAZARDS = SourceKind(
    "hazards", "安全隐患清单（危）", "safety hazards (危)", "none",
    (
        Column("record_id", "隐患编号", "str", ("编号", "序号编码", "record_id"), required=True),
        USCC,
        PARCEL_CODE,
        Column("hazard_type", "隐患类型", "str", ("类型", "hazard_type"), required=True,
               help_zh="危险化学品/危旧房屋/安全检查不合格 等", help_en="hazardous chemicals / dilapidated building / failed inspection …"),
        Column("level", "隐患等级", "str", ("等级", "level"), help_zh="一般 或 重大", help_en="一般 (ordinary) or 重大 (major)"),
        Column("found_date", "发现日期", "date", ("检查日期", "found")),
        Column("status", "整改状态", "str", ("状态", "status"), help_zh="未整改/整改中/已整改", help_en="not fixed / fixing / fixed"),
        Column("source_agency", "来源部门", "str", ("数据来源", "source")),
        Column("rectifiable", "可整改", "tribool", ("是否可整改", "能否整改", "可就地整改", "整改可行性", "rectifiable"),
               help_zh="主管部门认定能否就地整改达标：是/否；空表示未认定",
               help_en="whether the agency judges it fixable in place: 是/否; blank = not judged"),
    ),
    key=("record_id",),
    one_of=(("uscc", "parcel_code"),),
    formats=("xlsx", "csv"),
)

POLLUTION = SourceKind(
    "pollution", "污染问题清单（污）", "pollution cases (污)", "none",
    (
        Column("case_id", "案件编号", "str", ("处罚决定书文号", "编号", "case_id"), required=True),
        USCC,
        PARCEL_CODE,
        Column("violation_type", "违法类型", "str", ("问题类型", "violation"), required=True,
               help_zh="超标排放/无证排污/无组织排放/污染地块 等", help_en="excess discharge / no permit / fugitive emission / contaminated site …"),
        Column("decision_date", "处罚日期", "date", ("立案日期", "decision_date")),
        Column("penalty_wan", "罚款金额", "float", ("罚款", "penalty"), minimum=0, unit="万元"),
        Column("status", "整改状态", "str", ("状态", "status")),
        Column("contaminated_site", "污染地块", "bool", ("疑似污染地块", "contaminated")),
        Column("rectifiable", "可整改", "tribool", ("是否可整改", "能否整改", "可就地整改", "整改可行性", "rectifiable"),
               help_zh="主管部门认定能否就地整改达标：是/否；空表示未认定",
               help_en="whether the agency judges it fixable in place: 是/否; blank = not judged"),
    ),
    key=("case_id",),
    one_of=(("uscc", "parcel_code"),),
    formats=("xlsx", "csv"),
)

ENFORCEMENT = SourceKind(
    "enforcement", "违法用地案件（乱）", "illegal land-use cases (乱)", "optional_polygon",
    (
        Column("case_id", "案件编号", "str", ("图斑编号", "JCBH", "监测图斑编号", "case_id"), required=True),
        PARCEL_CODE,
        DISTRICT,
        Column("detect_date", "发现日期", "date", ("立案日期", "监测日期", "detected")),
        Column("case_type", "违法类型", "str", ("违法行为", "case_type"), required=True,
               help_zh="未批先建/少批多占/非法占用耕地/违规改变用途 等", help_en="built without approval / over-occupation / farmland occupation / unauthorised change of use …"),
        Column("area_mu", "违法用地面积", "float", ("违法面积", "面积", "area"), minimum=0, unit="亩"),
        Column("farmland_mu", "占用耕地面积", "float", ("其中耕地", "耕地面积", "farmland"), minimum=0, unit="亩"),
        Column("status", "处理状态", "str", ("结案状态", "状态", "status"), help_zh="未结案 或 已结案", help_en="open or closed"),
        Column("monitor_year", "卫片年度", "int", ("年度", "monitor_year"), minimum=2000, maximum=2100),
    ),
    key=("case_id",),
    one_of=(("parcel_code", "geometry"),),
    formats=("gpkg", "shp", "gdb", "geojson", "parquet", "xlsx", "csv"),
)

UNSUPPLIED = SourceKind(
    "unsupplied", "批而未供土地", "approved but unsupplied land", "polygon",
    (
        Column("batch_id", "批准文号", "str", ("PZWH", "批次编号", "批次名称", "batch_id"), required=True),
        DISTRICT,
        Column("approval_date", "批准日期", "date", ("PZRQ", "approved"), required=True),
        Column("approved_area_mu", "批准面积", "float", ("批准用地面积", "approved_area"), minimum=0, unit="亩"),
        Column("supplied_area_mu", "已供面积", "float", ("已供应面积", "supplied_area"), minimum=0, unit="亩"),
    ),
    key=("batch_id",),
)

IDLE = SourceKind(
    "idle", "闲置土地清单", "idle land", "none",
    (
        replace(PARCEL_CODE, required=True),
        Column("contract_start_date", "约定开工日期", "date", ("YDKGRQ", "合同约定开工日期", "contract_start"), required=True),
        Column("actual_start_date", "实际开工日期", "date", ("SJKGRQ", "开工日期", "actual_start")),
        Column("developed_share", "已开发面积占比", "float", ("开发面积比例", "developed_share"), minimum=0, maximum=1,
               help_zh="0–1 的小数或百分数", help_en="fraction 0–1 or a percentage"),
        Column("invested_share", "已投资额占比", "float", ("投资比例", "invested_share"), minimum=0, maximum=1),
        Column("halted_date", "停工日期", "date", ("中止开发日期", "halted")),
        Column("land_price_wan", "土地价款", "float", ("出让价款", "土地出让金", "land_price"), minimum=0, unit="万元"),
        Column("determination_date", "认定日期", "date", ("闲置认定日期", "determined")),
    ),
    key=("parcel_code",),
    formats=("xlsx", "csv"),
)

#: how land is supplied (供地方式), with the spellings of 土地市场动态监测监管系统 and bureau ledgers
SUPPLY_MODES: tuple[tuple[str, ...], ...] = (
    ("出让", "国有建设用地使用权出让", "招拍挂出让", "招拍挂", "挂牌出让", "拍卖出让", "招标出让", "协议出让",
     "挂牌", "拍卖", "招标", "协议", "弹性年期出让", "grant", "sale"),
    ("划拨", "国有建设用地使用权划拨", "行政划拨", "无偿划拨", "allocation", "allocated"),
    ("租赁", "国有土地租赁", "国有建设用地使用权租赁", "出租", "长期租赁", "短期租赁", "lease"),
    ("先租后让", "先租后出让", "先租赁后出让", "租让结合", "lease_then_grant", "lease-then-grant"),
)
#: new (新增) or stock (存量) land; 来自存量库 (land banked earlier) counts as stock
LAND_SOURCES: tuple[tuple[str, ...], ...] = (
    ("new", "新增", "新增建设用地", "新增用地", "新增地", "增量", "增量用地"),
    ("stock", "存量", "存量建设用地", "存量用地", "存量地", "现有建设用地", "新增建设用地(来自存量库)", "来自存量库"),
)

SUPPLY = SourceKind(
    "supply", "土地供应记录", "land supply records", "none",
    (
        Column("record_id", "电子监管号", "str",
               ("监管号", "电子监管编号", "合同编号", "出让合同编号", "合同号", "划拨决定书编号", "决定书编号",
                "供地编号", "record_id"), required=True,
               help_zh="土地市场动态监测监管系统的电子监管号（无则填出让合同或划拨决定书编号），每宗供地唯一",
               help_en="electronic supervision number of the land-market monitoring system (else the contract or "
                       "allocation decision number); unique per supply"),
        PARCEL_CODE,
        replace(DISTRICT, aliases=(*DISTRICT.aliases, "行政区", "区县", "所在区县")),
        Column("supply_date", "供地日期", "date",
               ("签订日期", "合同签订日期", "签订时间", "合同签订时间", "供应日期", "划拨决定书日期", "GDRQ", "supplied"),
               required=True, help_zh="出让合同签订或划拨决定书下达的日期，不得晚于今天",
               help_en="date the contract was signed or the allocation decided; not after today"),
        Column("area_mu", "供地面积", "float",
               ("出让面积", "划拨面积", "供应面积", "供地总面积", "土地面积", "面积", "area_mu", "area"),
               required=True, positive=True, unit="亩",
               help_zh="大于 0；表头注明公顷或平方米的自动换算为亩", help_en="> 0; hectares or m² (named in the header) are converted"),
        Column("land_source", "土地来源", "str",
               ("新增存量", "新增/存量", "新增或存量", "土地来源类型", "用地来源", "land_source"), required=True,
               choices=LAND_SOURCES,
               help_zh="新增 或 存量（新增建设用地/存量建设用地/现有建设用地；来自存量库的按存量计）",
               help_en="新增 (new) or 存量 (stock); 现有建设用地 and 来自存量库 count as stock"),
        Column("mode", "供地方式", "str", ("供应方式", "供应类型", "出让方式", "土地供应方式", "mode"), required=True,
               choices=SUPPLY_MODES,
               help_zh="出让（含招拍挂、协议出让）、划拨、租赁 或 先租后让",
               help_en="出让 grant (incl. auction, tender, listing, agreement), 划拨 allocation, 租赁 lease or "
                       "先租后让 lease then grant"),
        Column("ydyh_code", "土地用途代码", "str",
               ("用地用海代码", "用地用海分类代码", "规划用途代码", "YDYHDM", "土地用途", "用途", "ydyh"),
               help_zh="用地用海分类代码（如 100101）或其名称（如 工业用地）",
               help_en="用地用海 code (e.g. 100101) or its name (e.g. 工业用地)"),
    ),
    key=("record_id",),
    formats=("xlsx", "csv"),
    parcel_in_district=True,
    not_future=("supply_date",),
)

STATISTICS = SourceKind(
    "statistics", "分区年度统计", "yearly statistics by district", "none",
    (
        replace(DISTRICT, aliases=(*DISTRICT.aliases, "地区", "区县", "行政区", "行政区划", "区域"),
                help_zh="6 位县级行政区划代码或区县名称（如 320412、武进区）；全市、市区合计行自动跳过",
                help_en="6-digit county code or district name (320412, 武进区); 全市 / 市区 total rows are skipped"),
        Column("year", "统计年度", "int", ("年度", "年份", "统计年份", "year"), required=True, minimum=2000, maximum=2100,
               help_zh="2000–2100，不得晚于今年；可写 2023 或 2023年", help_en="2000–2100, not after this year"),
        Column("gdp_yi", "地区生产总值", "float", ("GDP", "生产总值", "地区生产总值GDP", "gdp"), positive=True,
               unit="亿元", help_zh="当年价，大于 0", help_en="at current prices, > 0"),
        Column("construction_land_mu", "建设用地面积", "float",
               ("建设用地总面积", "建设用地", "建设用地规模", "construction_land"), minimum=0, unit="亩",
               help_zh="年末建设用地总面积（年度变更调查）；不大于国土总面积",
               help_en="construction land at year end (annual change survey); not above the total area"),
        Column("total_area_mu", "国土总面积", "float",
               ("土地总面积", "行政区域面积", "行政区域土地面积", "行政区划面积", "国土面积", "辖区面积", "total_area"),
               positive=True, unit="亩", help_zh="表头注明平方公里或公顷的自动换算为亩",
               help_en="km² or hectares (named in the header) are converted"),
        Column("cultivated_land_mu", "耕地面积", "float", ("耕地", "耕地总面积", "cultivated_land"), minimum=0, unit="亩",
               help_zh="年末耕地面积；建设用地与耕地之和不大于国土总面积",
               help_en="cultivated land at year end; with construction land not above the total area"),
    ),
    key=("district_code", "year"),
    one_of=(("gdp_yi", "construction_land_mu", "total_area_mu", "cultivated_land_mu"),),
    formats=("xlsx", "csv"),
    not_future=("year",),
    not_above=((("construction_land_mu",), "total_area_mu"), (("cultivated_land_mu",), "total_area_mu"),
               (("construction_land_mu", "cultivated_land_mu"), "total_area_mu")),
)

KINDS: dict[str, SourceKind] = {k.name: k for k in (PARCELS, LAYER, FIRMS, HAZARDS, POLLUTION, ENFORCEMENT, UNSUPPLIED, IDLE,
                                                    SUPPLY, STATISTICS)}


def source_kind(kind: str, layer_kind: str | None = None) -> SourceKind:
    """The schema of ``kind``; a ``planned_use`` layer must give every zone its planned-use code,
    a ``district_boundary`` layer every polygon its district."""
    spec = KINDS[kind]
    needed = {"planned_use": "ydyh_code", "district_boundary": "district_code"}.get(layer_kind or "")
    if kind == "layer" and needed:
        spec = replace(spec, columns=tuple(replace(c, required=True) if c.name == needed else c
                                           for c in spec.columns))
    return spec
