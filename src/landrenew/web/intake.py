"""数据导入: upload a delivered file of a source kind, read its validation report, confirm the load."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from landrenew import staging
from landrenew.actors import Forbidden
from landrenew.web.context import Ctx
from landrenew.web.errors import refusal
from landrenew.web.i18n import pick
from landrenew.web.render import render

router = APIRouter()
api = APIRouter(prefix="/api/intake", tags=["intake"])

WORDS: dict[str, tuple[str, str]] = {
    "kind": ("数据类型", "Kind of data"),
    "layer_kind": ("图层类型", "Layer kind"),
    "sheet": ("工作表（可选）", "Sheet (optional)"),
    "crs": ("坐标系（可选，如 EPSG:4549）", "CRS (optional, e.g. EPSG:4549)"),
    "file": ("文件", "File"),
    "drop": ("把文件拖到这里，或点击选择（Shapefile 请把各部分打成一个 .zip）",
             "Drop a file here or click to choose (zip a Shapefile's parts into one .zip)"),
    "validate": ("上传并校验", "Upload and validate"),
    "template": ("下载模板", "Download the template"),
    "report": ("校验报告", "Validation report"),
    "skip_invalid": ("跳过问题行，只导入合格行", "Skip the rows with errors, load the good ones"),
    "confirm": ("确认导入", "Confirm the load"),
    "batches": ("最近的导入批次", "Recent ingest batches"),
    "no_load": ("只有市级管理员、市级分析员可以确认导入；您可以上传并校验文件。",
                "Only city administrators and analysts may confirm a load; you may upload and validate files."),
}
UPLOAD_DOC = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["kind", "file"],
    "properties": {
        "kind": {"type": "string", "description": "source kind (GET /api/intake/kinds)"},
        "layer_kind": {"type": "string", "description": "for kind=layer: which control layer"},
        "sheet": {"type": "string", "description": "Excel sheet name"},
        "layer": {"type": "string", "description": "layer inside a GeoPackage / File GDB"},
        "crs": {"type": "string", "description": "CRS when the file declares none, e.g. EPSG:4549"},
        "encoding": {"type": "string", "description": "text encoding (detected when absent)"},
        "file": {"type": "string", "format": "binary",
                 "description": "the file, or a .zip of a Shapefile's parts / a File GDB"},
    }}}}}}


def _refuse(exc: staging.UploadError) -> HTTPException:
    return refusal(exc.status, exc.code, exc.zh, exc.en)


def _may_load(ctx: Ctx) -> bool:
    role = ctx.profile.operations.role(ctx.user.role)
    return not role.read_only and role.key in staging.load_roles(ctx.profile)


def _require_writer(ctx: Ctx) -> None:
    """Uploading writes a file to the workspace: not for read-only roles."""
    role = ctx.actor.role_of(ctx.profile)
    if role.read_only:
        raise Forbidden(f"角色「{role.name_zh}」为只读，不能上传文件", f"role {role.key} is read-only and may not upload files")


@router.get("/intake", response_class=HTMLResponse, include_in_schema=False)
def intake_page(request: Request, ctx: Ctx) -> HTMLResponse:
    return render(request, "intake.html", "intake", ctx, {"iw": pick(WORDS, ctx.en), "can_load": _may_load(ctx)})


@api.get("/kinds", summary="Source kinds: names, accepted file types, columns, template links")
def kinds(request: Request, ctx: Ctx) -> dict:
    out = []
    for k in staging.kinds():
        links = {"xlsx": f"/api/intake/templates/{k['kind']}"}
        if k["spatial"]:
            links["gpkg"] = f"/api/intake/templates/{k['kind']}?format=gpkg"
        out.append({**k, "templates": links})
    return {"kinds": out, "max_upload_mb": request.app.state.settings.max_upload_mb, "may_load": _may_load(ctx)}


@api.get("/templates/{kind}", summary="The blank template of a kind (xlsx with its 说明 sheet, or a GeoPackage)",
         response_class=FileResponse)
def template(kind: str, ctx: Ctx, format: str = Query("xlsx", pattern="^(xlsx|gpkg)$"),  # noqa: A002
             layer_kind: str | None = None) -> FileResponse:
    try:
        path = staging.template_file(ctx.ws, kind, format, layer_kind)
    except staging.UploadError as exc:
        raise _refuse(exc) from exc
    return FileResponse(path, filename=path.name)


@api.post("/validate", summary="Upload a file and validate it as a source kind; loads nothing (not read-only "
                               "roles)", openapi_extra=UPLOAD_DOC)
async def validate(request: Request, ctx: Ctx) -> dict:
    _require_writer(ctx)
    max_bytes = request.app.state.settings.max_upload_mb * (1 << 20)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + (1 << 16):
        raise _refuse(staging.too_large(max_bytes))
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise refusal(422, "invalid", "请选择要上传的文件", "choose a file to upload")
    fields = {k: (str(form.get(k)) if form.get(k) not in (None, "") else None)
              for k in ("kind", "layer_kind", "sheet", "layer", "crs", "encoding")}
    kind = fields.pop("kind") or ""
    try:
        up = await run_in_threadpool(staging.stage, ctx.ws, upload.file, upload.filename, max_bytes,
                                     user=ctx.user.name, kind=kind,
                                     keep_days=request.app.state.settings.keep_uploads_days, **fields)
    except staging.UploadError as exc:
        raise _refuse(exc) from exc
    finally:
        await upload.close()
    report = await run_in_threadpool(staging.validate_upload, ctx.ws, ctx.profile, up)
    return {"upload_id": up.id, "file_name": up.file_name, "kind": up.kind, "layer_kind": up.layer_kind,
            "data_path": up.data_path, "may_load": _may_load(ctx), "report": staging.report_dict(report),
            "report_url": f"/api/intake/{up.id}/report"}


@api.get("/batches", summary="The latest ingest batches, newest first")
def batches(ctx: Ctx, limit: int = Query(20, ge=1, le=200)) -> dict:
    return {"batches": staging.recent_batches(ctx.ws.engine, limit)}


@api.get("/{upload_id}/report", summary="The full validation report of an upload (.xlsx)",
         response_class=FileResponse)
def report_file(upload_id: str, ctx: Ctx) -> FileResponse:
    try:
        up = staging.get_upload(ctx.ws, upload_id, ctx.user.name)
    except staging.UploadError as exc:
        raise _refuse(exc) from exc
    path = staging.report_path(ctx.ws, up)
    if not path.is_file():
        raise refusal(404, "no_report", "没有报告", "no report")
    stem = up.file_name.rsplit(".", 1)[0]
    return FileResponse(path, filename=f"{stem}.report.xlsx")


class LoadRequest(BaseModel):
    skip_invalid: bool = Field(False, description="load the good rows; the rows with errors are written to a file")


@api.post("/{upload_id}/load", summary="Load a validated upload (roles of the profile's load permission, else "
                                       "its open permission); validated again, refused as a whole on errors")
def load(upload_id: str, body: LoadRequest, ctx: Ctx) -> dict:
    ctx.actor.require(ctx.profile, staging.load_roles(ctx.profile), "导入数据", "load data")
    try:
        up = staging.get_upload(ctx.ws, upload_id, ctx.user.name)
        result = staging.load_upload(ctx.ws, ctx.profile, up, body.skip_invalid)
    except staging.UploadError as exc:
        raise _refuse(exc) from exc
    body_out = {"upload_id": up.id, "loaded": result.loaded, "batch_id": result.batch_id,
                "rows_loaded": result.rows_loaded, "report": staging.report_dict(result.report),
                "rejected_file": result.rejected_path.name if result.rejected_path else None}
    if not result.loaded:
        raise refusal(422, "not_loaded", f"未导入：{result.report.count('error')} 处错误，库内数据未改变",
                      f"nothing loaded: {result.report.count('error')} error(s); the store is unchanged")
    return body_out


router.include_router(api)
