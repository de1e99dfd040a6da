"""End to end over HTTP: subscribe a receiver through the API, walk one dossier from filing to a
returned result (and its rating) through the API, stop the receiver for a while in the middle,
and check that every step arrived signed, in order, and nothing was lost.

Against a running server with its worker, allowed to deliver to this machine:

    ONESTOP_WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8 make run          # in one terminal
    .venv/bin/python bench/connectivity.py [--outage 60]           # in another

Uses the demo accounts (password onestop-demo). Exits non-zero if anything is missing, out of
order, duplicated with another id, or badly signed.
"""

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from django_otp.oath import totp
from standardwebhooks import Webhook, WebhookVerificationError

MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
EXPECTED = [
    "dossier.submitted",
    "dossier.received",
    "dossier.assigned",
    "dossier.proposed",
    "dossier.approved",
    "dossier.returned",
    "dossier.rated",
]


class Receiver:
    """A webhook endpoint on 127.0.0.1 that can be stopped and started on the same port."""

    def __init__(self):
        self.received: list[tuple[str, dict, dict]] = []
        self.port = None
        self.server = None
        self.start()

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                receiver.received.append((body, dict(self.headers), json.loads(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port or 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/onestop-hook"


def sample_answer(field: dict) -> object:
    return {
        "date": "1990-05-17",
        "number": 1,
        "checkbox": True,
        "choice": (field.get("choices") or ["x"])[0],
        "email": "citizen@example.vn",
        "phone": "0912345678",
        "id_number": "031090001234",
    }.get(field["type"], "Thử nghiệm kết nối")


# The published demo authenticator key (DEMO_TOTP_KEY of dossiers/demo/seeding.py).
DEMO_TOTP_KEY = "6f6e6573746f702d64656d6f2d746f74702d3031"
DEMO_OTP = f"{totp(bytes.fromhex(DEMO_TOTP_KEY)):06d}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--outage", type=float, default=60, help="seconds the receiver is down")
    parser.add_argument("--wait", type=float, default=600, help="seconds to wait for the rest")
    args = parser.parse_args()
    api = httpx.Client(base_url=f"{args.base}/api/v1", timeout=30)

    def client(username):
        # Staff send the demo authenticator's current code (dossiers/demo/seeding.py); each
        # account has its own device, so one code serves each account once.
        token = api.post(
            "/auth/token/",
            json={"username": username, "password": "onestop-demo", "otp": DEMO_OTP},
        ).raise_for_status()
        return httpx.Client(
            base_url=f"{args.base}/api/v1",
            headers={"Authorization": f"Token {token.json()['token']}"},
            timeout=30,
        )

    admin, citizen, reception, specialist, leader = (
        client(u) for u in ("admin", "citizen", "reception", "specialist", "leader")
    )
    receiver = Receiver()
    subscription = admin.post("/webhooks/", json={"url": receiver.url}).raise_for_status().json()
    secret = subscription["secret"]
    print(f"subscribed {receiver.url} as #{subscription['id']}")

    procedures = citizen.get("/procedures/", params={"page_size": 100}).json()["results"]
    procedure = next(
        p
        for p in procedures
        if (not p["channels"] or 2 in p["channels"]) and p["competent_level"] == "commune"
    )
    detail = citizen.get(f"/procedures/{procedure['code']}/").json()
    draft = citizen.post("/dossiers/", json={"procedure": procedure["code"]}).raise_for_status()
    ref = draft.json()["ref"]
    answers = {f["key"]: sample_answer(f) for f in detail["fields"] if f["required"]}
    citizen.patch(f"/dossiers/{ref}/", json={"form_data": answers}).raise_for_status()
    for document in detail["documents"]:
        online = not document["channels"] or 2 in document["channels"]
        if document["required"] and document["kind"] == "submit" and online:
            citizen.post(
                f"/dossiers/{ref}/attachments/",
                data={"document_type": document["id"]},
                files={"file": ("giay-to.pdf", MINIMAL_PDF, "application/pdf")},
            ).raise_for_status()
    code = (
        citizen.post(f"/dossiers/{ref}/actions/submit/", json={}).raise_for_status().json()["code"]
    )
    print(f"filed {code} ({procedure['code']})")

    def act(who, action, **body):
        who.post(f"/dossiers/{code}/actions/{action}/", json=body).raise_for_status()
        print(f"  {action}")

    act(reception, "receive")
    print(f"receiver stopped for {args.outage:.0f} s")
    receiver.stop()
    specialist_id = "specialist"
    act(leader, "assign", assignee=specialist_id)
    specialist.post(
        f"/dossiers/{code}/attachments/",
        data={"purpose": "result"},
        files={"file": ("ket-qua.pdf", MINIMAL_PDF, "application/pdf")},
    ).raise_for_status()
    act(specialist, "propose", outcome="granted", note="Đủ điều kiện.")
    act(leader, "approve")
    time.sleep(args.outage)
    receiver.start()
    print("receiver back")
    act(reception, "return_result", delivery="counter")
    act(citizen, "rate", rating="satisfied")

    started = time.time()
    while time.time() - started < args.wait:
        mine = [m for _b, _h, m in receiver.received if m["data"]["dossier"]["code"] == code]
        if len({m["type"] for m in mine}) >= len(EXPECTED):
            break
        time.sleep(1)
    verifier, seen, problems = Webhook(secret), {}, []
    for body, headers, message in receiver.received:
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            verifier.verify(body, lowered)
        except WebhookVerificationError as error:
            problems.append(f"bad signature on {lowered.get('webhook-id')}: {error}")
        if message["data"]["dossier"]["code"] == code:
            seen.setdefault(lowered["webhook-id"], message["type"])  # redeliveries: same id
    order = list(seen.values())
    if order != EXPECTED:
        problems.append(f"received {order}, expected {EXPECTED}")
    print(f"received {len(receiver.received)} deliveries, {len(seen)} distinct events: {order}")
    if problems:
        print("\n".join(problems))
        return 1
    print("every step arrived signed, once per id, in order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
