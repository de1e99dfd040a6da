"""A payment gateway for tests: a real HTTP server on 127.0.0.1, in a thread, speaking the
protocol of docs/integrations.md ("Thanh toán trực tuyến") from its own reading of it (it
shares no code with onestop's side).

- GET /pay?<order fields>&webhook-id=&webhook-timestamp=&webhook-signature= checks the
  merchant's signature over the canonical query string (the order fields sorted by name,
  URL-encoded) and serves a pay page with a "Thanh toán" button (400 if the signature is wrong).
- POST /pay/confirm (the button) makes a transaction, POSTs the signed callback to the order's
  notify_url (Standard Webhooks headers: webhook-id, webhook-timestamp, webhook-signature over
  "id.timestamp.body"), then sends the browser back to the order's return_url (303).

Options, set on the instance before paying: `wrong_signature` (signs with another secret),
`wrong_amount` (confirms 1,000 đồng more than asked), `deliveries` (sends the very same
notification this many times, one after the other). `answers` lists what onestop answered
to each delivery: (status, JSON body). `notify()` sends a callback without a browser.

    with PaymentGateway(secret=SECRET, merchant="XA01") as gateway:
        settings.ONESTOP_PAYMENT_GATEWAY_URL = gateway.pay_url
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import html
import itertools
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlparse

import httpx

SIGNATURE_PARAMS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secret: str, msg_id: str, timestamp: int, payload: str) -> str:
    """Standard Webhooks v1: base64(HMAC-SHA256(key, "id.timestamp.payload"))."""
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.{payload}".encode(), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


class PaymentGateway:
    def __init__(self, *, secret: str, merchant: str):
        self.secret, self.merchant = secret, merchant
        self.wrong_signature = False
        self.wrong_amount = False
        self.deliveries = 1
        self.requests: list[dict] = []  # the verified pay requests
        self.answers: list[tuple[int, dict]] = []
        self._orders: dict[str, dict] = {}
        self._numbers = itertools.count(1)
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlparse(self.path)
                if url.path != "/pay":
                    return self._answer(404, "not found")
                params = dict(parse_qsl(url.query, keep_blank_values=True))
                if not gateway.verify_request(params):
                    return self._answer(400, "chữ ký yêu cầu không hợp lệ")
                token = secrets.token_hex(8)
                gateway._orders[token] = params
                gateway.requests.append(params)
                amount = html.escape(params["amount"])
                page = (
                    "<!doctype html><html lang='vi'><head><meta charset='utf-8'>"
                    "<title>Cổng thanh toán thử</title></head><body>"
                    f"<h1>Thanh toán đơn hàng {html.escape(params['order'])}</h1>"
                    f"<p>Số tiền: <strong id='amount'>{amount}</strong> VND</p>"
                    f"<p>{html.escape(params['description'])}</p>"
                    "<form method='post' action='/pay/confirm'>"
                    f"<input type='hidden' name='token' value='{token}'>"
                    "<button type='submit'>Thanh toán</button></form></body></html>"
                )
                return self._answer(200, page)

            def do_POST(self):
                if urlparse(self.path).path != "/pay/confirm":
                    return self._answer(404, "not found")
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                params = gateway._orders.pop(form.get("token", ""), None)
                if params is None:
                    return self._answer(400, "đơn hàng không tồn tại")
                gateway.pay(params)
                self.send_response(303)
                self.send_header("Location", params["return_url"])
                self.end_headers()

            def _answer(self, status, text):
                body = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def pay_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/pay"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def verify_request(self, params: dict) -> bool:
        if any(name not in params for name in SIGNATURE_PARAMS):
            return False
        if params.get("merchant") != self.merchant:
            return False
        fields = sorted((k, v) for k, v in params.items() if k not in SIGNATURE_PARAMS)
        expected = sign(
            self.secret, params["webhook-id"], int(params["webhook-timestamp"]), urlencode(fields)
        )
        given = params["webhook-signature"].split(" ")
        return any(hmac.compare_digest(expected, g) for g in given)

    def pay(self, params: dict) -> str:
        """The citizen paid `params` (a verified pay request): notify onestop."""
        number = next(self._numbers)
        amount = int(params["amount"]) + (1000 if self.wrong_amount else 0)
        return self.notify(
            notify_url=params["notify_url"],
            order=params["order"],
            amount_vnd=amount,
            transaction_id=f"GW{number:06d}-{secrets.token_hex(3)}",
        )

    def notify(
        self,
        *,
        notify_url: str,
        order: str,
        amount_vnd: int,
        transaction_id: str,
        payer_name: str = "NGUYEN VAN AN",
        msg_id: str | None = None,
        timestamp: int | None = None,
    ) -> str:
        """POST the signed callback (`deliveries` times, the same message); returns its id."""
        body = json.dumps(
            {
                "type": "payment.succeeded",
                "data": {
                    "merchant": self.merchant,
                    "order": order,
                    "amount": amount_vnd,
                    "currency": "VND",
                    "transaction_id": transaction_id,
                    "paid_at": dt.datetime.now(dt.UTC).isoformat(),
                    "payer_name": payer_name,
                },
            }
        )
        msg_id = msg_id or f"msg_{secrets.token_hex(8)}"
        timestamp = int(time.time()) if timestamp is None else timestamp
        secret = new_secret() if self.wrong_signature else self.secret
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, msg_id, timestamp, body),
        }
        for _delivery in range(self.deliveries):
            response = httpx.post(notify_url, content=body.encode(), headers=headers, timeout=30)
            self.answers.append((response.status_code, response.json()))
        return msg_id
