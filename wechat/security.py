"""Mini-program content security (内容安全), v2: ``msgSecCheck`` and ``mediaCheckAsync``.

The one description of the protocol in this project: the client calls here, the test fake
(tests/support/fake_wechat.py) and the development stand-in (qunshop/assembly/standin.py) answer
with ``check_answer`` and push ``media_check_event``, and the webhook reads that push with
``read_media_check_event``.

- ``POST /wxa/msg_sec_check?access_token=`` with ``{"content", "version": 2, "scene",
  "openid"}`` (``title``, ``nickname``, ``signature`` optional) answers ``{"errcode": 0,
  "trace_id", "result": {"suggest", "label"}, "detail": [...]}``. ``suggest`` is ``pass``,
  ``review`` or ``risky``; ``label`` 100 is normal, the others name the kind (``LABELS``).
- ``POST /wxa/media_check_async?access_token=`` with ``{"media_url", "media_type": 2 (an
  image; 1 audio), "version": 2, "scene", "openid"}`` answers ``{"errcode": 0,
  "trace_id"}``; within about 30 minutes WeChat pushes the verdict to the message push
  server as an event ``wxa_media_check`` carrying the same ``trace_id`` and a ``result``
  as above (plus ``appid``, ``version``, ``detail``, ``errcode``, ``errmsg``).
- The openid must have opened the mini-program within two hours (else 61010); scene is 1
  a profile, 2 a comment, 3 a forum post, 4 a social log. A token error is 40001/42001.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wechat.messaging import SEND_TIMEOUT, SYSTEM_BUSY, MessagingError, _call

if TYPE_CHECKING:
    import aiohttp

MSG_SEC_CHECK = "/wxa/msg_sec_check"
MEDIA_CHECK_ASYNC = "/wxa/media_check_async"
EVENT = "wxa_media_check"
VERSION = 2

SCENE_PROFILE = 1
SCENE_COMMENT = 2
SCENE_FORUM = 3
SCENE_SOCIAL = 4
SCENES = frozenset({SCENE_PROFILE, SCENE_COMMENT, SCENE_FORUM, SCENE_SOCIAL})
MEDIA_AUDIO = 1
MEDIA_IMAGE = 2

PASS = "pass"
REVIEW = "review"
RISKY = "risky"
SUGGESTIONS = frozenset({PASS, REVIEW, RISKY})
NORMAL = 100
LABELS = {
    100: "正常",
    10001: "广告",
    20001: "时政",
    20002: "色情",
    20003: "辱骂",
    20006: "违法犯罪",
    20008: "欺诈",
    20012: "低俗",
    20013: "版权",
    21000: "其他",
}
NOT_VISITED = 61010  # the openid has not opened the mini-program in the last two hours
CONTENT_MAX = 2500  # characters msg_sec_check reads


@dataclass(frozen=True)
class Check:
    suggest: str  # PASS, REVIEW or RISKY
    label: int
    trace_id: str

    @property
    def label_name(self) -> str:
        return LABELS.get(self.label, LABELS[21000])


def _result(data: dict[str, Any], what: str) -> Check:
    result = data.get("result")
    suggest = result.get("suggest") if isinstance(result, dict) else None
    label = result.get("label") if isinstance(result, dict) else None
    if suggest not in SUGGESTIONS:
        raise MessagingError(SYSTEM_BUSY, f"{what}: no result.suggest", retryable=True)
    try:
        number = int(str(label))
    except ValueError:
        number = NORMAL if suggest == PASS else 21000
    return Check(suggest=suggest, label=number, trace_id=str(data.get("trace_id") or ""))


async def msg_sec_check(
    http: aiohttp.ClientSession,
    *,
    base: str,
    token: str,
    openid: str,
    content: str,
    scene: int,
    nickname: str | None = None,
    timeout: float = SEND_TIMEOUT,
) -> Check:
    """The verdict on a text (v2); ``MessagingError`` when WeChat refused or failed."""
    if scene not in SCENES:
        raise ValueError(f"scene must be one of {sorted(SCENES)}")
    body: dict[str, Any] = {
        "content": content[:CONTENT_MAX],
        "version": VERSION,
        "scene": scene,
        "openid": openid,
    }
    if nickname:
        body["nickname"] = nickname
    data = await _call(
        http,
        "POST",
        f"{base}{MSG_SEC_CHECK}",
        what="msg_sec_check",
        timeout=timeout,
        params={"access_token": token},
        payload=body,
        secrets=(token,),
    )
    return _result(data, "msg_sec_check")


async def media_check_async(
    http: aiohttp.ClientSession,
    *,
    base: str,
    token: str,
    openid: str,
    media_url: str,
    scene: int,
    media_type: int = MEDIA_IMAGE,
    timeout: float = SEND_TIMEOUT,
) -> str:
    """Ask for an image's verdict; answers the ``trace_id`` the later push will carry."""
    if scene not in SCENES:
        raise ValueError(f"scene must be one of {sorted(SCENES)}")
    body = {
        "media_url": media_url,
        "media_type": media_type,
        "version": VERSION,
        "scene": scene,
        "openid": openid,
    }
    data = await _call(
        http,
        "POST",
        f"{base}{MEDIA_CHECK_ASYNC}",
        what="media_check_async",
        timeout=timeout,
        params={"access_token": token},
        payload=body,
        secrets=(token,),
    )
    trace_id = data.get("trace_id")
    if not isinstance(trace_id, str) or not trace_id:
        raise MessagingError(SYSTEM_BUSY, "media_check_async: no trace_id", retryable=True)
    return trace_id


def check_answer(*, suggest: str, label: int, trace_id: str) -> dict[str, Any]:
    """What msg_sec_check answers (a fake's or the stand-in's reply)."""
    return {
        "errcode": 0,
        "errmsg": "ok",
        "trace_id": trace_id,
        "result": {"suggest": suggest, "label": label},
        "detail": [{"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label}],
    }


def media_check_event(
    *, appid: str, trace_id: str, suggest: str, label: int, created: int
) -> dict[str, Any]:
    """The fields of the ``wxa_media_check`` push (XML children of ``<xml>``)."""
    return {
        "ToUserName": appid,
        "FromUserName": appid,
        "CreateTime": str(created),
        "MsgType": "event",
        "Event": EVENT,
        "appid": appid,
        "trace_id": trace_id,
        "version": str(VERSION),
        "detail": {"strategy": "content_model", "errcode": "0", "suggest": suggest},
        "errcode": "0",
        "errmsg": "ok",
        "result": {"suggest": suggest, "label": str(label)},
    }


def is_media_check_event(fields: dict[str, Any]) -> bool:
    return fields.get("MsgType") == "event" and fields.get("Event") == EVENT


def read_media_check_event(fields: dict[str, Any]) -> Check | None:
    """The verdict a ``wxa_media_check`` push carries; None when it is not one or unreadable."""
    if not is_media_check_event(fields):
        return None
    trace_id = fields.get("trace_id")
    if not isinstance(trace_id, str) or not trace_id:
        return None
    try:
        return _result(fields, EVENT)
    except MessagingError:
        return None


def event_xml(fields: dict[str, Any]) -> str:
    """``fields`` as the XML body WeChat posts (nested dicts become nested elements)."""

    def element(name: str, value: Any) -> str:
        if isinstance(value, dict):
            return f"<{name}>{''.join(element(k, v) for k, v in value.items())}</{name}>"
        return f"<{name}><![CDATA[{value}]]></{name}>"

    return f"<xml>{''.join(element(k, v) for k, v in fields.items())}</xml>"
