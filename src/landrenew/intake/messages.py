"""Every intake message, in Chinese and English, with its fix. One place, one code each."""

from __future__ import annotations

from landrenew.intake.report import Message as M

UNREADABLE = M("unreadable", "无法读取文件：{detail}", "cannot read the file: {detail}",
               "确认文件完整、格式为 {formats} 之一；Shapefile 需同时提供 .shp .shx .dbf .prj",
               "check the file is complete and one of {formats}; a Shapefile needs .shp .shx .dbf .prj")
FORMAT = M("format", "{kind} 不接受 {suffix} 格式", "{kind} does not accept {suffix} files",
           "请另存为 {formats} 之一", "save it as one of {formats}")
NO_ROWS = M("no_rows", "文件中没有数据行", "the file holds no data rows",
            "检查工作表/图层是否选对（--sheet / --layer）", "check the sheet or layer (--sheet / --layer)")
NO_HEADER = M("no_header", "前 {n} 行中找不到可识别的表头", "no recognisable header in the first {n} rows",
              "表头应包含如：{examples}；见 docs/data-formats.md 或 landrenew templates 生成的模板",
              "the header should contain e.g. {examples}; see docs/data-formats.md or the templates")
HEADER_MERGED = M("header_merged", "检测到两行表头（第 {rows} 行），已合并识别", "two-row header found (rows {rows}); merged",
                  "无需处理", "nothing to do")
MISSING_COLUMN = M("missing_column", "缺少必填列「{zh}」", "required column '{zh}' ({name}) is missing",
                   "添加该列；也接受列名：{aliases}", "add the column; also accepted: {aliases}")
MISSING_ONE_OF = M("missing_one_of", "至少需要以下列之一：{cols}", "at least one of these columns is needed: {cols}",
                   "添加其中一列并填写", "add one of them and fill it in")
DUPLICATE_COLUMN = M("duplicate_column", "列「{a}」与「{b}」都对应字段 {name}", "columns '{a}' and '{b}' both map to {name}",
                     "删除或改名其中一列", "delete or rename one of them")
UNKNOWN_COLUMN = M("unknown_column", "未识别的列「{col}」，已忽略", "unrecognised column '{col}' ignored",
                   "如需导入，请按 docs/data-formats.md 改用标准列名", "rename it per docs/data-formats.md if it should load")
SUMMARY_ROW = M("summary_row", "合计/小计/全市汇总行已跳过", "total row skipped", "无需处理", "nothing to do")
REQUIRED_EMPTY = M("required_empty", "必填项为空", "required value is empty", "填写该项", "fill in the value")
ONE_OF_EMPTY = M("one_of_empty", "{cols} 至少填一项", "fill at least one of {cols}", "补充其中一项", "fill in one of them")
NOT_NUMBER = M("not_number", "不是数值", "not a number", "填写数字，不带单位和文字（单位见表头）",
               "enter a plain number without units or text")
BELOW_MIN = M("below_min", "数值小于 {minimum}", "value below {minimum}", "核对数值，不应小于 {minimum}（负数多为录入错误）",
              "check the value; it cannot be below {minimum}")
ABOVE_MAX = M("above_max", "数值大于 {maximum}", "value above {maximum}", "核对数值（比例填 0–1 或百分数）",
              "check the value (shares as 0–1 or a percentage)")
NOT_INTEGER = M("not_integer", "应为整数", "must be a whole number", "填写整数", "enter a whole number")
BAD_DATE = M("bad_date", "无法识别的日期", "unrecognised date", "使用 2021-03-01 或 Excel 日期格式", "use 2021-03-01 or an Excel date")
BAD_BOOL = M("bad_bool", "应为 是/否", "must be yes/no (是/否)", "填写 是 或 否", "enter 是 or 否")
BAD_CHOICE = M("bad_choice", "取值应为 {choices} 之一", "must be one of {choices}", "改为允许的取值", "use one of the allowed values")
UNKNOWN_DISTRICT = M("unknown_district", "未知的行政区代码", "unknown district code",
                     "使用以下代码或名称之一：{codes}", "use one of these codes or names: {codes}")
BAD_USCC = M("bad_uscc", "统一社会信用代码无效：{reason}", "invalid unified social credit code: {reason_en}",
             "核对营业执照上的 18 位代码（不使用字母 I O S V Z）", "check the 18-character code on the business licence")
BAD_PARCEL_CODE = M("bad_parcel_code", "宗地代码无效：{reason}", "invalid parcel code: {reason_en}",
                    "宗地代码为 19 位：6 位县级代码+3 位地籍区+3 位地籍子区+2 位特征码+5 位顺序号",
                    "a parcel code has 19 characters: 6 county + 3 cadastral district + 3 sub-district + 2 feature + 5 serial")
PARCEL_COUNTY_MISMATCH = M("parcel_county_mismatch", "宗地代码前 6 位 {county} 与行政区代码不一致",
                           "parcel code county {county} differs from the district code",
                           "核对宗地代码或行政区代码", "check the parcel code or the district code")
BAD_DLBM = M("bad_dlbm", "不是三调地类编码", "not a 三调 land-use code (DLBM)",
             "使用三调工作分类编码，如 0601 工业用地、0702 农村宅基地", "use a 三调 code such as 0601 or 0702")
BAD_YDYH = M("bad_ydyh", "不是用地用海分类代码", "not a 用地用海 land/sea-use code",
             "使用《用地用海分类指南》代码，如 100101", "use a code from the 用地用海 classification, e.g. 100101")
DUPLICATE_KEY = M("duplicate_key", "{key} 重复（首次出现在第 {first} 行）", "duplicate {key} (first seen on row {first})",
                  "删除重复行或更正编号", "remove the duplicate row or correct the identifier")
NO_CRS = M("no_crs", "{problem}", "{problem_en}", "{fix}", "{fix_en}")
BAD_CRS = M("bad_crs", "{problem}", "{problem_en}", "{fix}", "{fix_en}")
CRS_NOTE = M("crs_note", "{note}", "{note_en}", "无需处理", "nothing to do")
EMPTY_GEOMETRY = M("empty_geometry", "几何为空", "empty or missing geometry",
                   "在 GIS 中补绘该要素的图形或删除该行", "draw the feature's shape in GIS or remove the row")
NOT_POLYGON = M("not_polygon", "几何类型为 {gtype}，应为面", "geometry is a {gtype}, a polygon is required",
                "导出面图层（Polygon/MultiPolygon）", "export a polygon layer")
INVALID_GEOMETRY = M("invalid_geometry", "无效几何无法修复：{reason}", "invalid geometry could not be repaired: {reason}",
                     "在 GIS 中用“修复几何”工具处理后重新导入", "fix it in GIS (Fix Geometries) and load again")
REPAIRED_GEOMETRY = M("repaired_geometry", "无效几何已自动修复：{reason}", "invalid geometry repaired: {reason}",
                      "核对修复后的图形", "review the repaired shape")
BAD_COORDINATES = M("bad_coordinates", "坐标不可能：{reason}（坐标见“值”列）",
                    "impossible coordinates: {reason_en} (coordinates in the value column)",
                    "核对该要素的坐标（{hint}），在 GIS 中更正或删除该要素后重新导入；其他要素照常检查，"
                    "可用 --skip-invalid 先导入",
                    "check this feature's coordinates ({hint_en}), correct or delete it in GIS and load again; "
                    "the other features are checked as usual and can load now with --skip-invalid")
OUTSIDE_EXTENT = M("outside_extent", "要素不在 {city} 范围内", "feature lies outside {city}",
                   "检查坐标系是否正确（可用 --crs 指定）", "check the coordinate system (use --crs)")
AREA_MISMATCH = M("area_mismatch", "登记面积与图形面积相差 {pct}%", "declared area differs from the geometry area by {pct}%",
                  "核对登记面积或图形", "check the declared area or the shape")
ENCODING_DETECTED = M("encoding_detected", "未提供 .cpg，按 {encoding} 编码读取属性表", "no .cpg file; attributes read as {encoding}",
                      "建议随 Shapefile 提供 .cpg 文件", "ship a .cpg file with the Shapefile")
UNKNOWN_REFERENCE = M("unknown_reference", "{what}在库中不存在", "{what_en} not found in the store",
                      "先导入{source}，或核对代码", "load the {source_en} first, or check the code")
NOT_POSITIVE = M("not_positive", "数值应大于 0", "value must be greater than 0",
                 "核对数值：面积、产值应为正数（0 或负数多为录入错误）", "check the value: areas and output are positive")
FUTURE_DATE = M("future_date", "日期晚于今天（{today}）", "date after today ({today})",
                "核对日期：只录入已经发生的供地（合同签订或划拨决定的日期）",
                "check the date: record supplies that have happened (contract signed or allocation decided)")
FUTURE_YEAR = M("future_year", "年度晚于今年（{year}）", "year after this year ({year})",
                "核对年度：只录入已结束或当年的统计数", "check the year: statistics of past years or this year only")
PART_ABOVE_WHOLE = M("part_above_whole", "{parts}大于{whole}", "{parts_en} exceeds {whole_en}",
                     "核对数值与单位（表头单位须与数值一致，如亩与公顷、平方公里）",
                     "check the values and their units (e.g. 亩 versus hectares or km²)")
UNIT_CONVERTED = M("unit_converted", "列「{col}」的单位为 {unit}，已按 ×{factor} 换算为 {target}",
                   "column '{col}' is in {unit}; converted to {target} (× {factor})",
                   "核对表头单位是否与数值一致", "check that the unit in the header is the unit of the values")
PART_ABOVE_WHOLE_STORED = M("part_above_whole_stored", "与库中已有数值合并后，{parts}大于{whole}",
                            "with the figures already stored, {parts_en} exceeds {whole_en}",
                            "本文件与此前导入的同一区县同一年度数值不一致：核对本文件或先重新导入另一方的数据",
                            "this file disagrees with the figures loaded earlier for the same district and year: "
                            "check it, or re-load the other source first")
BAD_TEXT = M("bad_text", "文字不是有效的 UTF-8 编码（文件可能已损坏）", "the text is not valid UTF-8 (the file may be damaged)",
             "在 GIS 中打开该图层、核对此要素的属性后另存为新文件再导入",
             "open the layer in GIS, check this feature's attributes, save it as a new file and load that")
WORKBOOK_TOO_LARGE = M("workbook_too_large", "工作簿解压后超过 {limit} MB 的上限",
                       "the workbook unpacks to more than the limit of {limit} MB",
                       "删除多余的工作表和空白行列后另存为 .xlsx，或拆成多个文件导入",
                       "delete extra sheets and blank rows/columns, save as .xlsx again, or split it into several files")
SHEET_TOO_LARGE = M("sheet_too_large", "工作表「{sheet}」的数据区域达 {rows} 行 × {cols} 列，超过 {limit} 个单元格的上限",
                    "sheet '{sheet}' spans {rows} rows × {cols} columns, above the limit of {limit} cells",
                    "删除数据区域右侧和下方的多余单元格（选中整行/整列后“删除”，不是清除内容）后保存",
                    "delete the stray cells right of and below the data (delete whole rows/columns, not just "
                    "their contents) and save")
TOO_MANY_VERTICES = M("too_many_vertices", "图形节点过多：超过每个要素 {limit} 个节点的上限（节点数见“值”列）",
                      "the shape has too many vertices: above the limit of {limit} per feature (count in the value "
                      "column)",
                      "在 QGIS 中用“简化”（矢量 → 几何工具 → 简化，容差 0.1 米）减少节点后重新导入",
                      "simplify it in QGIS (Vector ▸ Geometry Tools ▸ Simplify, tolerance 0.1 m) and load again")
