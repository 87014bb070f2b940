"""The platforms' side of the webhooks: requests signed and encrypted as WeChat and WeCom send
them (with wechatpy's crypto), and the replies decrypted as the platforms would."""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from typing import Any

import xmltodict
from aiohttp.test_utils import TestClient
from wechatpy.crypto import PrpCrypto as OAPrp
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import PrpCrypto as WeComPrp
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

from tests.conftest import TEST_SECRETS

_ids = itertools.count(7000000000000000001)
_nonces = itertools.count(100000001)

OA_ACCOUNT = "gh_0123456789ab"
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"


def sign(*parts: str) -> str:
    """An independent SHA-1 over the sorted parts, as the platforms compute it."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def now_ts() -> str:
    return str(int(time.time()))


def nonce() -> str:
    return str(next(_nonces))


def next_msg_id() -> str:
    return str(next(_ids))


def oa_xml(
    msg_type: str,
    *,
    sender: str = OPENID,
    create_time: str | None = None,
    msg_id: str | None = None,
    **fields: str,
) -> str:
    """An OA push as WeChat sends it (CDATA for strings)."""
    parts = [
        f"<ToUserName><![CDATA[{OA_ACCOUNT}]]></ToUserName>",
        f"<FromUserName><![CDATA[{sender}]]></FromUserName>",
        f"<CreateTime>{create_time or now_ts()}</CreateTime>",
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>",
        *(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items()),
    ]
    if msg_type != "event":
        parts.append(f"<MsgId>{msg_id or next_msg_id()}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


def oa_text(content: str, **kw: Any) -> str:
    return oa_xml("text", Content=content, **kw)


def oa_event(event: str, key: str | None = None, **kw: Any) -> str:
    extra = {"EventKey": key} if key is not None else {}
    return oa_xml("event", Event=event, **extra, **kw)


class OA:
    """WeChat pushing to /bot/wechat, in plain or safe mode."""

    def __init__(self, client: TestClient, *, token: str | None = None) -> None:
        self.client = client
        self.token = token or TEST_SECRETS["wechat_token"]
        self.aes_key = TEST_SECRETS["wechat_aes_key"]
        self.appid = TEST_SECRETS["wechat_appid"]
        self.crypto = WeChatCrypto(self.token, self.aes_key, self.appid)

    def query(self, ts: str | None = None, n: str | None = None) -> dict[str, str]:
        ts, n = ts or now_ts(), n or nonce()
        return {"signature": sign(self.token, ts, n), "timestamp": ts, "nonce": n}

    async def post(self, xml: str | bytes, *, ts: str | None = None, **query: str) -> Any:
        params = {**self.query(ts), "openid": OPENID, **query}
        return await self.client.post("/bot/wechat", params=params, data=xml)

    def seal(self, xml: str, ts: str, n: str) -> tuple[dict[str, str], str]:
        """Safe mode: the encrypted body and the query with its msg_signature."""
        encrypt = OAPrp(self.crypto.key).encrypt(xml, self.appid).decode()
        body = (
            f"<xml><ToUserName><![CDATA[{OA_ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        )
        query = {
            **self.query(ts, n),
            "openid": OPENID,
            "encrypt_type": "aes",
            "msg_signature": sign(self.token, ts, n, encrypt),
        }
        return query, body

    async def post_safe(self, xml: str, *, ts: str | None = None) -> Any:
        query, body = self.seal(xml, ts or now_ts(), nonce())
        return await self.client.post("/bot/wechat", params=query, data=body)

    def open(self, reply_xml: str) -> str:
        """Decrypt a safe-mode reply as WeChat does (its MsgSignature checked)."""
        env = xmltodict.parse(reply_xml)["xml"]
        return self.crypto.decrypt_message(
            reply_xml, env["MsgSignature"], env["TimeStamp"], env["Nonce"]
        )


class WeComApp:
    """WeCom pushing to /bot/wecom: always encrypted, receive id = corpid."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.token = TEST_SECRETS["wecom_token"]
        self.corp_id = TEST_SECRETS["wecom_corp_id"]
        self.crypto = WeComCrypto(self.token, TEST_SECRETS["wecom_aes_key"], self.corp_id)

    def xml(self, content: str, *, sender: str = "zhangsan", msg_id: str | None = None) -> str:
        return (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{sender}]]></FromUserName><CreateTime>{now_ts()}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
            f"<MsgId>{msg_id or next_msg_id()}</MsgId><AgentID>1000002</AgentID></xml>"
        )

    async def post(self, xml: str, *, ts: str | None = None) -> Any:
        ts, n = ts or now_ts(), nonce()
        encrypt = WeComPrp(self.crypto.key).encrypt(xml, self.corp_id).decode()
        body = (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID>1000002</AgentID></xml>"
        )
        query = {"msg_signature": sign(self.token, ts, n, encrypt), "timestamp": ts, "nonce": n}
        return await self.client.post("/bot/wecom", params=query, data=body)

    def open(self, reply_xml: str) -> str:
        env = xmltodict.parse(reply_xml)["xml"]
        return self.crypto.decrypt_message(
            reply_xml, env["MsgSignature"], env["TimeStamp"], env["Nonce"]
        )


class WeComBot:
    """The WeCom intelligent bot platform: JSON {"encrypt"} with receive id ""."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.token = TEST_SECRETS["wecom_bot_token"]
        self.crypto = WeComCrypto(self.token, TEST_SECRETS["wecom_bot_aes_key"], "")

    def sealed_query(self, plain: str, ts: str, n: str) -> tuple[dict[str, str], str]:
        encrypt = WeComPrp(self.crypto.key).encrypt(plain, "").decode()
        query = {"msg_signature": sign(self.token, ts, n, encrypt), "timestamp": ts, "nonce": n}
        return query, encrypt

    async def post(self, payload: dict[str, Any], *, ts: str | None = None) -> Any:
        ts, n = ts or now_ts(), nonce()
        plain = json.dumps(payload, ensure_ascii=False)
        query, encrypt = self.sealed_query(plain, ts, n)
        return await self.client.post(
            "/bot/wecom-bot", params=query, data=json.dumps({"encrypt": encrypt})
        ), n

    async def reply(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Post and open the answer: the decrypted JSON, or None for an empty body."""
        resp, n = await self.post(payload)
        assert resp.status == 200, await resp.text()
        body = await resp.text()
        if not body:
            return None
        envelope = json.loads(body)
        assert envelope["nonce"] == n  # the callback's nonce goes back
        expected = sign(self.token, envelope["timestamp"], n, envelope["encrypt"])
        assert envelope["msgsignature"] == expected
        return json.loads(WeComPrp(self.crypto.key).decrypt(envelope["encrypt"], ""))

    @staticmethod
    def text(
        content: str,
        *,
        msg_id: str | None = None,
        chat_id: str | None = "wrkSFfCgAAxxxx",
        sender: str = "zhangsan",
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "msgid": msg_id or next_msg_id(),
            "aibotid": "AIBOTID",
            "chattype": "group" if chat_id else "single",
            "from": {"userid": sender},
            "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=RC",
            "msgtype": "text",
            "text": {"content": content},
        }
        if chat_id:
            payload["chatid"] = chat_id
        return payload

    @staticmethod
    def refresh(stream_id: str, *, chat_id: str = "wrkSFfCgAAxxxx") -> dict[str, Any]:
        return {
            "msgid": next_msg_id(),
            "aibotid": "AIBOTID",
            "chatid": chat_id,
            "chattype": "group",
            "from": {"userid": "zhangsan"},
            "msgtype": "stream",
            "stream": {"id": stream_id},
        }

    @staticmethod
    def event(eventtype: str, body: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
        event: dict[str, Any] = {"eventtype": eventtype}
        if body is not None:
            event[eventtype] = body
        return {
            "msgid": next_msg_id(),
            "create_time": int(time.time()),
            "aibotid": "AIBOTID",
            "chattype": "single",
            "from": {"userid": "zhangsan"},
            "msgtype": "event",
            "event": event,
            **top,
        }
