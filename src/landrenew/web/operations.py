"""Cases (案件) and the quota ledger (指标台账): the board, a case, the ledger pages and their JSON API.

Routes only translate HTTP to the services (:mod:`landrenew.cases`, :mod:`landrenew.ledger`,
:mod:`landrenew.casework`); every permission is checked there with ``ctx.actor``.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from landrenew import casework, ledger
from landrenew.actors import Forbidden
from landrenew.cases import CaseError, add_comment, get_case, open_cases, transition
from landrenew.web.context import Ctx
from landrenew.web.i18n import pick
from landrenew.web.render import render

router = APIRouter()
api = APIRouter(prefix="/api", tags=["cases & ledger"])
pages = APIRouter(include_in_schema=False)

#: the words of these pages (zh, en); the data's own names come from the services
WORDS: dict[str, tuple[str, str]] = {
    "board": ("案件看板", "Case board"),
    "all_districts": ("全部行政区", "all districts"),
    "district": ("行政区", "District"),
    "family": ("处置类别", "Disposal family"),
    "cases_total": ("案件", "cases"),
    "more": ("更多", "more"),
    "facts": ("基本情况", "Facts"),
    "timeline": ("办理节点", "Milestones"),
    "estimated": ("预估与实际", "Estimated and entered"),
    "moves": ("可办理环节", "Moves you may make"),
    "no_moves": ("当前角色在此环节无可办理事项", "your role has no move at this step"),
    "comment_box": ("填写意见", "Add a comment"),
    "history": ("办理记录", "History"),
    "credited": ("入账指标", "Quota credited"),
    "balances": ("指标余额", "Balances"),
    "balance_chart": ("各区指标余额", "Balances per district"),
    "transfers": ("记账记录", "Transfers"),
    "post": ("调剂 / 使用指标", "Transfer / spend quota"),
    "back": ("返回看板", "Back to the board"),
}


def _max_bytes(request: Request) -> int:
    return int(request.app.state.settings.max_upload_mb) * 1024 * 1024


# --------------------------------------------------------------------------- models


class Need(BaseModel):
    """An input a move requires: a case field (typed), ``attachment`` (file) or ``comment``."""

    key: str
    name_zh: str
    name_en: str
    type: Literal["number", "integer", "choice", "text", "date", "file", "comment"]
    unit: str | None = None
    choices: list[str] = []
    minimum: float | None = None
    maximum: float | None = None


class Move(BaseModel):
    """A transition the signed-in user may make now."""

    to_state: str
    to_zh: str
    to_en: str
    name_zh: str
    name_en: str
    requires: list[Need]
    credits: str | None = Field(None, description="the case field whose value is credited to the ledger")


class Case(BaseModel):
    """A case: facts, state and version (send it back with a move), milestones, estimated and
    entered values, the moves you may make and the field definitions, the quota it earned."""

    model_config = ConfigDict(extra="allow")
    case_no: str
    district_code: str
    family: str
    path: str
    workflow_id: str
    state: str
    state_zh: str
    state_en: str
    version: int
    area_mu: float
    milestones: list[dict[str, Any]]
    estimate: list[dict[str, Any]]
    entered: list[dict[str, Any]]
    moves: list[Move]
    fields: list[Need]
    credited: list[dict[str, Any]]


class CasePage(BaseModel):
    total: int
    page: int
    page_size: int
    rows: list[dict[str, Any]]


class Board(BaseModel):
    """Per workflow, a column per state with its count, area and first cards."""

    family: str | None
    district: str | None
    total: int
    families: list[dict[str, Any]]
    workflows: list[dict[str, Any]]


class OpenRequest(BaseModel):
    run: int | None = Field(None, description="analysis run (default: the latest finished)")
    district: str | None = None
    family: str | None = None
    top: int | None = Field(None, ge=1, description="at most this many, highest priority first")


class OpenResult(BaseModel):
    run_id: int
    opened: list[str]
    skipped: list[tuple[str, str]]


class TransferIn(BaseModel):
    """A transfer (调剂) between districts / the city pool, or a spend (使用) of quota."""

    model_config = ConfigDict(populate_by_name=True)
    transfer_id: str = Field(min_length=1, max_length=ledger.TRANSFER_ID_MAX,
                             description="chosen by the client (e.g. a UUID): a resubmission posts once")
    type: Literal["transfer", "spend"]
    kind: str
    from_owner: str = Field(alias="from")
    to_owner: str | None = Field(None, alias="to", description="for a transfer; a spend goes to 'consumed'")
    amount: float
    price_yuan_per_mu: float | None = None
    reason: str
    value_date: date


class Posting(BaseModel):
    model_config = ConfigDict(extra="allow")
    seq: int
    transfer_id: str
    kind: str
    from_owner: str
    to_owner: str
    amount: float
    transfer_type: str
    replayed: bool


class Balances(BaseModel):
    kinds: list[dict[str, Any]]
    owners: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    actions: list[str] = Field(description="posting types the profile grants your role (for a form)")


class HistoryPage(BaseModel):
    total: int
    page: int
    page_size: int
    rows: list[dict[str, Any]]


class VerifyResult(BaseModel):
    ok: bool
    accounts: int
    transfers: int
    kinds: int
    problems: list[dict[str, str]]


# --------------------------------------------------------------------------- cases API


@api.get("/cases", summary="Cases you may see (a district role: its own), one page", response_model=CasePage)
def cases(ctx: Ctx, state: str | None = None, district: str | None = None, family: str | None = None,
          page: Annotated[int, Query(ge=1)] = 1, page_size: Annotated[int, Query(ge=1, le=500)] = 50) -> dict:
    return casework.case_page(ctx.ws.engine, ctx.profile, ctx.actor, state=state, district=district, family=family,
                              page=page, page_size=page_size)


@api.get("/cases/board", summary="Cases per workflow and state: counts, areas and cards", response_model=Board)
def cases_board(ctx: Ctx, district: str | None = None, family: str | None = None,
                per_state: Annotated[int, Query(ge=1, le=500)] = 40) -> dict:
    return casework.board(ctx.ws.engine, ctx.profile, ctx.actor, district=district, family=family, per_state=per_state)


@api.post("/cases/open", summary="Open cases from a run's recommendations (city roles)", response_model=OpenResult)
def cases_open(ctx: Ctx, body: OpenRequest) -> dict:
    out = open_cases(ctx.ws, ctx.profile, ctx.actor, run_id=body.run, district=body.district, family=body.family,
                     top=body.top)
    return {"run_id": out.run_id, "opened": out.opened, "skipped": out.skipped}


@api.get("/cases/{case_no}", summary="A case, the moves you may make and the inputs they need", response_model=Case)
def case(ctx: Ctx, case_no: str) -> dict:
    return casework.case_detail(ctx.ws.engine, ctx.profile, ctx.actor, case_no)


@api.get("/cases/{case_no}/events", summary="The case's events, oldest first")
def case_events(ctx: Ctx, case_no: str) -> dict:
    return {"rows": casework.events(ctx.ws.engine, ctx.profile, ctx.actor, case_no)}


async def _saved(request: Request, upload: UploadFile | None, folder: Path) -> Path | None:
    """The uploaded file saved under its own (base) name in ``folder``; refuses empty and oversized files."""
    if upload is None or not (upload.filename or "").strip():
        return None
    name = Path(upload.filename.replace("\\", "/")).name.strip()
    if not name or name in (".", ".."):
        raise HTTPException(422, detail={"code": "file", "zh": "附件文件名无效", "en": "the attached file has no valid name"})
    limit, size = _max_bytes(request), 0
    target = folder / name
    with target.open("wb") as out:
        while block := await upload.read(1 << 20):
            size += len(block)
            if size > limit:
                mb = request.app.state.settings.max_upload_mb
                raise HTTPException(413, detail={"code": "too_large", "zh": f"附件超过 {mb} MB 上限",
                                                 "en": f"the attached file is larger than {mb} MB"})
            out.write(block)
    if size == 0:
        raise HTTPException(422, detail={"code": "file", "zh": f"附件 {name} 是空文件", "en": f"the attached file {name} is empty"})
    return target


def _refuse_oversized(request: Request) -> None:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > _max_bytes(request) + (1 << 20):
        mb = request.app.state.settings.max_upload_mb
        raise HTTPException(413, detail={"code": "too_large", "zh": f"附件超过 {mb} MB 上限",
                                         "en": f"the attached file is larger than {mb} MB"})


#: form fields of a move that are not case values
_MOVE_FORM = {"to_state", "version", "comment", "attachment", "event_date", "csrf_token"}


@api.post("/cases/{case_no}/move", response_model=Case, summary="Move a case to another state",
          description="Multipart form: `to_state`, `version` (the version you loaded: a changed case answers 409), "
                      "the values the move requires as fields named by their keys (see `moves[].requires` of the "
                      "case), `comment`, an optional `attachment` file and `event_date` (default today).")
async def case_move(request: Request, ctx: Ctx, case_no: str, to_state: Annotated[str, Form()],
                    version: Annotated[int, Form()], comment: Annotated[str | None, Form()] = None,
                    event_date: Annotated[date | None, Form()] = None,
                    attachment: Annotated[UploadFile | None, File()] = None) -> dict:
    _refuse_oversized(request)
    form = await request.form()
    values = {k: v for k, v in form.items() if k not in _MOVE_FORM and isinstance(v, str) and v.strip() != ""}
    with tempfile.TemporaryDirectory(prefix="landrenew-upload-") as tmp:
        path = await _saved(request, attachment, Path(tmp))
        transition(ctx.ws, ctx.profile, ctx.actor, case_no, to_state, version, values=values, comment=comment,
                   attachment=path, when=event_date)
    return casework.case_detail(ctx.ws.engine, ctx.profile, ctx.actor, case_no)


@api.post("/cases/{case_no}/comment", response_model=Case, summary="Comment on a case (optionally with a file)",
          description="Multipart form: `version`, `comment`, optional `attachment`; a changed case answers 409.")
async def case_comment(request: Request, ctx: Ctx, case_no: str, version: Annotated[int, Form()],
                       comment: Annotated[str, Form()] = "", event_date: Annotated[date | None, Form()] = None,
                       attachment: Annotated[UploadFile | None, File()] = None) -> dict:
    _refuse_oversized(request)
    with tempfile.TemporaryDirectory(prefix="landrenew-upload-") as tmp:
        path = await _saved(request, attachment, Path(tmp))
        add_comment(ctx.ws, ctx.profile, ctx.actor, case_no, version, comment, attachment=path, when=event_date)
    return casework.case_detail(ctx.ws.engine, ctx.profile, ctx.actor, case_no)


@api.get("/cases/{case_no}/attachments/{sha256}", summary="Download a file attached to a case",
         response_class=FileResponse)
def case_attachment(ctx: Ctx, case_no: str,
                    sha256: Annotated[str, PathParam(pattern="^[0-9a-fA-F]{64}$")]) -> FileResponse:
    path, name = casework.attachment_file(ctx.ws, ctx.profile, ctx.actor, case_no, sha256)
    return FileResponse(path, filename=name, headers={"X-Content-SHA256": sha256.lower()})


# --------------------------------------------------------------------------- ledger API


@api.get("/ledger/balances", summary="Balances of the accounts you may see, by owner and kind", response_model=Balances)
def ledger_balances(ctx: Ctx, district: str | None = None, kind: str | None = None) -> dict:
    with ctx.ws.engine.connect() as conn:
        return casework.ledger_view(conn, ctx.profile, ctx.actor, district=district, kind=kind, lang=ctx.lang)


@api.get("/ledger/history", summary="Transfers touching your accounts, newest first", response_model=HistoryPage)
def ledger_history(ctx: Ctx, district: str | None = None, kind: str | None = None,
                   case: Annotated[str | None, Query(description="a case number")] = None,
                   page: Annotated[int, Query(ge=1)] = 1,
                   limit: Annotated[int, Query(ge=1, le=1000, description="rows per page")] = 50) -> dict:
    return casework.history_page(ctx.ws.engine, ctx.profile, ctx.actor, district=district, kind=kind, case_no=case,
                                 page=page, page_size=limit, lang=ctx.lang)


@api.post("/ledger/transfers", summary="Post a transfer or a spend (idempotent by transfer_id)",
          response_model=Posting)
def ledger_post(ctx: Ctx, body: TransferIn) -> dict:
    to = ledger.CONSUMED if body.type == "spend" else (body.to_owner or "")
    req = ledger.TransferRequest(body.transfer_id, body.kind, body.from_owner, to, body.amount, body.type,
                                 body.value_date, body.reason, price_yuan_per_mu=body.price_yuan_per_mu)
    with ctx.ws.engine.begin() as conn:
        posted = ledger.post(conn, req, ctx.profile, ctx.actor)
    return casework.posted_dict(posted, ctx.profile, ctx.lang)


@api.get("/ledger/verify", summary="Recompute the ledger and report inconsistencies (city roles)",
         response_model=VerifyResult)
def ledger_verify(ctx: Ctx) -> dict:
    with ctx.ws.engine.connect() as conn:
        return casework.verify_ledger(conn, ctx.profile, ctx.actor, ctx.lang)


# --------------------------------------------------------------------------- pages


@pages.get("/cases", response_class=HTMLResponse)
def cases_page(request: Request, ctx: Ctx) -> HTMLResponse:
    return render(request, "cases.html", "cases", ctx, {"ow": pick(WORDS, ctx.en)})


@pages.get("/cases/{case_no}", response_class=HTMLResponse)
def case_page(request: Request, ctx: Ctx, case_no: str) -> HTMLResponse:
    error, status = None, 200
    try:
        get_case(ctx.ws.engine, ctx.profile, ctx.actor, case_no)
    except Forbidden as exc:
        error, status = exc.en if ctx.en else exc.zh, 403
    except CaseError as exc:
        error, status = exc.en if ctx.en else exc.zh, 404
    return render(request, "case.html", "cases", ctx, {"ow": pick(WORDS, ctx.en), "case_no": case_no, "error": error},
                  status)


@pages.get("/ledger", response_class=HTMLResponse)
def ledger_page(request: Request, ctx: Ctx) -> HTMLResponse:
    return render(request, "ledger.html", "ledger", ctx, {"ow": pick(WORDS, ctx.en)})


router.include_router(api)
router.include_router(pages)
