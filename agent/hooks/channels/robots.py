"""Group robots: DingTalk (钉钉, markdown, optional signing secret) and WeCom (企业微信, markdown).

Both answer HTTP 200 with `errcode`; anything but 0 is a failure (rate limits are retried).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from collections.abc import Callable

from urllib3.exceptions import HTTPError

from agent.hooks import render
from agent.hooks.channels.base import ChannelBase, Delivery, Outcome
from agent.hooks.channels.http import Http, unreachable
from agent.hooks.settings import ChannelSettings

# errcodes that mean "later": DingTalk 130101 (too fast), 660026; WeCom 45009 (limit), -1 (busy)
RETRY_CODES = {130101, 660026, 45009, -1}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")))."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


def _errcode(name: str, r: object) -> Outcome:
    doc = r.json() if hasattr(r, "json") else None  # type: ignore[union-attr]
    code = doc.get("errcode") if isinstance(doc, dict) else None
    if code == 0:
        return Outcome(True)
    msg = doc.get("errmsg", "") if isinstance(doc, dict) else "no JSON answer"
    return Outcome(False, f"{name}: errcode {code}: {msg}", permanent=code not in RETRY_CODES)


class DingTalkChannel(ChannelBase):
    type = "dingtalk"

    def __init__(self, settings: ChannelSettings, lang: str,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(settings, lang)
        self.token = settings.secrets["access_token"]
        self.secret = settings.secrets.get("secret")
        self.http = Http(settings)
        self.clock = clock

    def url(self) -> str:
        q = f"access_token={urllib.parse.quote(self.token.get_secret_value())}"
        if self.secret is not None:
            ts = int(self.clock() * 1000)
            q += f"&timestamp={ts}&sign={dingtalk_sign(self.secret.get_secret_value(), ts)}"
        return f"{self.m.url}?{q}"

    def body(self, d: Delivery) -> dict[str, object]:
        at = list(self.m.at_mobiles) + [r for r in d.payload.get("recipients", []) if r.isdigit()]
        text = render.render("message.md", d)
        if at:
            text += "\n" + " ".join(f"@{m}" for m in at)
        return {"msgtype": "markdown", "markdown": {"title": render.title(d), "text": text},
                "at": {"atMobiles": at, "isAtAll": self.m.at_all}}

    def send(self, d: Delivery) -> Outcome:
        try:
            r = self.http.json("POST", self.url(), self.body(d))
        except HTTPError as e:
            return unreachable(self.name, e)
        return _errcode(self.name, r) if r.ok else r.failure(self.name)


class WeComChannel(ChannelBase):
    type = "wecom"

    def __init__(self, settings: ChannelSettings, lang: str) -> None:
        super().__init__(settings, lang)
        self.key = settings.secrets["key"]
        self.http = Http(settings)

    def body(self, d: Delivery) -> dict[str, object]:
        text = render.render("message.md", d)
        # WeCom markdown is capped at 4096 bytes: cut on a character boundary
        raw = text.encode()[:4000]
        return {"msgtype": "markdown", "markdown": {"content": raw.decode("utf-8", "ignore")}}

    def send(self, d: Delivery) -> Outcome:
        url = f"{self.m.url}?key={urllib.parse.quote(self.key.get_secret_value())}"
        try:
            r = self.http.json("POST", url, self.body(d))
        except HTTPError as e:
            return unreachable(self.name, e)
        return _errcode(self.name, r) if r.ok else r.failure(self.name)
