"""The bodies of a decision: an approval's optional note, a rejection's reason (required,
shown to whoever asked). After-sales requests and group claims are decided with them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from miniapp_api.fields import NOT_BLANK


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=500, pattern=r"^[^\x00]*$")


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, pattern=NOT_BLANK)


def note_of(body: ApproveIn | RejectIn) -> str:
    """What the service records: the approval's note or the rejection's reason."""
    return body.note if isinstance(body, ApproveIn) else body.reason
