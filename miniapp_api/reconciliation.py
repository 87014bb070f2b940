"""Admins: the daily reconciliation of WeChat Pay's bills, its differences, and resolving them."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from miniapp_api.auth import admin
from miniapp_api.fields import NOT_BLANK
from miniapp_api.spec import endpoint
from models.reconciliation import BillDifference, BillRun, BillRunStatus, DifferenceKind
from services import reconciliation
from services.auth import Principal

TAGS = ("reconciliation",)


class RunOut(BaseModel):
    bill_date: dt.date
    status: BillRunStatus
    payments: int = Field(description="the bill's successful payments")
    refunds: int = Field(description="the bill's refunds")
    differences: int
    error: str = Field(description="why the bill could not be had")
    ran_at: dt.datetime

    @classmethod
    def of(cls, run: BillRun) -> RunOut:
        return cls(
            bill_date=run.bill_date,
            status=run.status,
            payments=run.payments,
            refunds=run.refunds,
            differences=run.differences,
            error=run.error,
            ran_at=run.ran_at,
        )


class DifferenceOut(BaseModel):
    id: str
    kind: DifferenceKind = Field(
        description="paid_unknown: in the bill only; known_unpaid: in our books only; "
        "amount_mismatch: in both, for different amounts"
    )
    subject: str = Field(description="payment or refund")
    out_trade_no: str
    transaction_id: str
    out_refund_no: str
    bill_amount: int | None = Field(description="fen, as WeChat Pay's bill says")
    our_amount: int | None = Field(description="fen, as our books say")
    resolved_at: dt.datetime | None
    note: str

    @classmethod
    def of(cls, item: BillDifference) -> DifferenceOut:
        return cls(
            id=str(item.id),
            kind=item.kind,
            subject=item.subject,
            out_trade_no=item.out_trade_no,
            transaction_id=item.transaction_id,
            out_refund_no=item.out_refund_no,
            bill_amount=item.bill_amount,
            our_amount=item.our_amount,
            resolved_at=item.resolved_at,
            note=item.note,
        )


class RunList(BaseModel):
    items: list[RunOut]


class RunDetail(BaseModel):
    run: RunOut
    differences: list[DifferenceOut]


class DetailQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    open: bool = Field(default=False, description="only the differences nobody resolved")


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=500, pattern=NOT_BLANK)


class Queued(BaseModel):
    bill_date: dt.date
    queued: bool


@endpoint(
    summary="Admins: the reconciliation runs, latest day first",
    tags=TAGS,
    response=RunList,
    auth=admin,
)
async def list_runs() -> RunList:
    return RunList(items=[RunOut.of(r) for r in await reconciliation.runs()])


@endpoint(
    summary="Admins: one day's reconciliation and its differences",
    tags=TAGS,
    query=DetailQuery,
    response=RunDetail,
    auth=admin,
    errors=(404,),
)
async def get_run(*, bill_date: str, query: DetailQuery) -> RunDetail:
    run = await reconciliation.run_of(reconciliation.parse_day(bill_date))
    items = await reconciliation.differences(run, open_only=query.open)
    return RunDetail(run=RunOut.of(run), differences=[DifferenceOut.of(i) for i in items])


@endpoint(
    summary="Admins: download and match a day's bill again (queued now)",
    tags=TAGS,
    response=Queued,
    status=202,
    auth=admin,
    errors=(404, 422),
)
async def rerun(*, bill_date: str, now: dt.datetime) -> Queued:
    day = reconciliation.parse_day(bill_date)
    return Queued(bill_date=day, queued=await reconciliation.request_run(day=day, now=now))


@endpoint(
    summary="Admins: record what was done about a difference",
    tags=TAGS,
    body=ResolveIn,
    response=DifferenceOut,
    auth=admin,
    errors=(404, 409),
)
async def resolve_difference(
    *, principal: Principal, difference_id: str, body: ResolveIn, now: dt.datetime
) -> DifferenceOut:
    item = await reconciliation.resolve(
        actor_id=principal.user_id, difference_id=difference_id, note=body.note, now=now
    )
    return DifferenceOut.of(item)


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/admin/reconciliation", list_runs)
    app.router.add_get("/api/v1/admin/reconciliation/{bill_date}", get_run)
    app.router.add_post("/api/v1/admin/reconciliation/{bill_date}/run", rerun)
    app.router.add_post(
        "/api/v1/admin/reconciliation/differences/{difference_id}/resolve", resolve_difference
    )
