"""Fees paid online: the VietQR code, the gateway's signed callback over real HTTP (the test
gateway of tests/payment_gateway.py against the live server), the payment's record and the
dossier's clock, refusals logged, the electronic receipt read back from its PDF."""

from __future__ import annotations

import io
import re
import threading
import time
from urllib.parse import parse_qsl, urlparse

import httpx
import pytest
import zxingcpp
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from dossiers import audit, payment, slips, vietqr
from dossiers.errors import Forbidden
from dossiers.models import (
    ClockPause,
    Dossier,
    Membership,
    Payment,
    PaymentMethod,
    PaymentRefusal,
    Slip,
)
from dossiers.permissions import available_actions
from dossiers.services import dossier_record_payment
from dossiers.services.payments import payment_account, payment_confirm
from dossiers.workflow import Action, EventType, Role, Status
from tests.conftest import actor
from tests.payment_gateway import PaymentGateway, new_secret, sign

SECRET = new_secret()
MERCHANT = "ONESTOP-XA01"

# A VietQR code made by a payment service in production (payOS), published in a public
# repository's notes: our builder must produce it byte for byte.
KNOWN_GOOD = (
    "00020101021238570010A000000727012700069704220113VQRQABRLS04480208QRIBFTTA530370454042000"
    "5802VN6224082018f8746b181045f0a2ce63040FC0"
)


# --- VietQR ---------------------------------------------------------------------------------


def test_crc_is_ccitt_false():
    assert vietqr.crc16("123456789") == "29B1"  # the catalogue's check value


def test_the_payload_matches_a_known_good_vietqr_code_and_parses_back():
    transfer = vietqr.parse(KNOWN_GOOD)
    assert transfer == vietqr.Transfer("970422", "VQRQABRLS0448", 2000, "18f8746b181045f0a2ce")
    rebuilt = vietqr.payload(
        bank_bin="970422", account="VQRQABRLS0448", amount_vnd=2000, reference=transfer.reference
    )
    assert rebuilt == KNOWN_GOOD
    assert vietqr.crc16(KNOWN_GOOD[:-4]) == KNOWN_GOOD[-4:]


def test_a_dossier_payload_names_the_account_amount_and_code():
    data = vietqr.payload(
        bank_bin="970436", account="0011001234567", amount_vnd=15000, reference="X-260301-0001"
    )
    top = vietqr.fields(data)
    assert top["00"] == "01" and top["01"] == "12" and top["53"] == "704" and top["58"] == "VN"
    merchant = vietqr.fields(top["38"])
    assert merchant["00"] == "A000000727" and merchant["02"] == "QRIBFTTA"
    assert vietqr.fields(merchant["01"]) == {"00": "970436", "01": "0011001234567"}
    assert top["54"] == "15000" and vietqr.fields(top["62"]) == {"08": "X-260301-0001"}
    assert vietqr.parse(data).amount_vnd == 15000


def test_a_changed_character_fails_the_crc():
    tampered = KNOWN_GOOD.replace("54042000", "54042900")
    with pytest.raises(vietqr.PayloadError, match="CRC"):
        vietqr.parse(tampered)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(bank_bin="97042", account="1", amount_vnd=1, reference="A"),
        dict(bank_bin="970422", account="12 34", amount_vnd=1, reference="A"),
        dict(bank_bin="970422", account="1", amount_vnd=0, reference="A"),
        dict(bank_bin="970422", account="1", amount_vnd=1, reference="Nộp phí"),
    ],
)
def test_bad_inputs_are_refused(kwargs):
    with pytest.raises(vietqr.PayloadError):
        vietqr.payload(**kwargs)


def svg_to_image(svg: str) -> Image.Image:
    """Rasterise segno's inline SVG: one path of horizontal runs ("M x y h n m dx dy ..."),
    each a row of dark modules (y is the row's centre line)."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    scale = int(re.search(r"scale\((\d+)\)", svg).group(1))
    modules = size // scale
    path = re.search(r'class="qrline"[^>]* d="([^"]+)"', svg).group(1)
    image = Image.new("L", (modules * 4, modules * 4), 255)
    x = y = 0.0
    for command, args in re.findall(r"([Mmh])([^Mmh]*)", path):
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", args)]
        if command == "M":
            x, y = numbers
        elif command == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            run = int(numbers[0])
            row = int(y - 0.5)
            for column in range(int(x), int(x) + run):
                for dy in range(4):
                    for dx in range(4):
                        image.putpixel((column * 4 + dx, row * 4 + dy), 0)
            x += numbers[0]
    return image


def decode_svg(svg: str) -> str:
    (found,) = zxingcpp.read_barcodes(svg_to_image(svg))
    return found.text


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def bank(commune):
    commune.bank_account_number = "0011 0012 34567"
    commune.bank_name = "Ngân hàng TMCP Ngoại thương Việt Nam"
    commune.bank_beneficiary = "UBND xã Vĩnh Bảo"
    commune.bank_bin = "970436"
    commune.save()
    return commune


@pytest.fixture
def owing(make_dossier, bank, fee_later_procedure):
    """A dossier waiting for payment of its fee (15,000 đồng)."""
    return make_dossier(Status.AWAITING_PAYMENT, procedure=fee_later_procedure)


@pytest.fixture
def gateway(settings):
    with PaymentGateway(secret=SECRET, merchant=MERCHANT) as peer:
        settings.ONESTOP_PAYMENT_GATEWAY_URL = peer.pay_url
        settings.ONESTOP_PAYMENT_GATEWAY_MERCHANT = MERCHANT
        settings.ONESTOP_PAYMENT_GATEWAY_SECRET = SECRET
        yield peer


def callback_url(live_server) -> str:
    return live_server.url + reverse("api-payment-callback")


def pay_request(client, dossier) -> dict:
    """The citizen presses "pay online": the signed request the browser carries to the gateway."""
    response = client.post(reverse("citizens:pay_online", args=[dossier.pk]))
    assert response.status_code == 302
    return dict(parse_qsl(urlparse(response["Location"]).query))


# --- the citizen's page -----------------------------------------------------------------------


def test_the_page_shows_amount_due_date_a_scannable_vietqr_and_pay_online(
    client, citizen, owing, gateway
):
    client.force_login(citizen)
    page = client.get(reverse("citizens:dossier_detail", args=[owing.pk])).content.decode()
    owed = payment.due(owing)
    assert "15.000" in page and reverse("citizens:pay_online", args=[owing.pk]) in page
    svg = re.search(r'<figure class="vietqr">\s*(<svg.*?</svg>)', page, re.S).group(1)
    transfer = vietqr.parse(decode_svg(svg))
    assert transfer == vietqr.Transfer("970436", "001100123456" + "7", 15000, owing.code)
    assert owed.pay_by.strftime("%d/%m/%Y") in page
    # The page's CSP lets "pay online" be redirected to the gateway, and only there.
    csp = client.get(reverse("citizens:dossier_detail", args=[owing.pk]))["Content-Security-Policy"]
    origin = gateway.pay_url.rsplit("/", 1)[0]
    assert f"form-action 'self' {origin}" in csp
    other = client.get(reverse("citizens:my_dossiers"))["Content-Security-Policy"]
    assert origin not in other


def test_without_the_banks_bin_or_a_gateway_neither_is_offered(client, citizen, owing, settings):
    owing.receiving_agency.bank_bin = ""
    owing.receiving_agency.save()
    settings.ONESTOP_PAYMENT_GATEWAY_URL = ""
    client.force_login(citizen)
    page = client.get(reverse("citizens:dossier_detail", args=[owing.pk])).content.decode()
    assert "vietqr" not in page and "/pay/" not in page
    assert "15.000" in page  # the counter and the transfer are still explained


def test_pay_online_sends_a_request_the_gateway_accepts(client, citizen, owing, gateway):
    client.force_login(citizen)
    params = pay_request(client, owing)
    assert gateway.verify_request(params)
    assert params["amount"] == "15000" and params["order"].startswith(owing.code + ".")
    assert params["notify_url"].endswith("/api/v1/payments/gateway/callback/")
    forged = {**params, "amount": "1500"}
    assert not gateway.verify_request(forged)


def test_someone_elses_dossier_is_not_found(client, citizen2, owing, gateway):
    client.force_login(citizen2)
    assert client.post(reverse("citizens:pay_online", args=[owing.pk])).status_code == 404


# --- the callback over HTTP -------------------------------------------------------------------


def paid_through_gateway(client, citizen, dossier, gateway) -> dict:
    client.force_login(citizen)
    params = pay_request(client, dossier)
    gateway.pay(params)
    return params


@pytest.mark.django_db(transaction=True)
def test_a_signed_callback_records_the_payment_and_restarts_the_clock(
    client, citizen, owing, live_gateway
):
    gateway = live_gateway
    paid_through_gateway(client, citizen, owing, gateway)
    assert gateway.answers[-1][0] == 200
    dossier = Dossier.objects.get(pk=owing.pk)
    assert dossier.status == Status.PROCESSING
    assert not dossier.pauses.filter(ended_at__isnull=True, reason=ClockPause.Reason.PAYMENT)
    (paid,) = Payment.objects.all()
    assert (paid.method, paid.amount_vnd, paid.outcome) == (
        PaymentMethod.GATEWAY,
        15000,
        Payment.Outcome.RECORDED,
    )
    assert paid.confirmed_by.username == "cong-thanh-toan"
    event = dossier.events.get(event_type=EventType.PAYMENT_RECORDED)
    assert event.role == Role.INTEGRATION and event.agency == dossier.receiving_agency
    assert event.data["payment"] == paid.pk and event.data["transaction_id"] == paid.transaction_id
    assert gateway.answers[-1][1] == {"result": "recorded", "receipt_number": paid.receipt_number}
    # The electronic receipt, read back from its PDF.
    slip = slips.slip_for(dossier, Slip.Kind.FEE_RECEIPT, event.seq)
    text = " ".join(p.extract_text() for p in PdfReader(slip.file.open("rb")).pages)
    text = re.sub(r"\s+", " ", text)
    for expected in (
        "BIÊN LAI THU PHÍ",
        paid.receipt_number,
        dossier.code,
        "NGUYEN VAN AN",
        paid.transaction_id,
        "15.000",
    ):
        assert expected.lower() in text.lower(), expected


@pytest.fixture
def live_gateway(live_server, gateway, monkeypatch):
    """The gateway notifying the live server whatever address the request named."""
    real_pay = gateway.pay

    def pay(params):
        return real_pay({**params, "notify_url": callback_url(live_server)})

    monkeypatch.setattr(gateway, "pay", pay)
    return gateway


@pytest.mark.django_db(transaction=True)
def test_the_same_notification_twice_records_one_payment(client, citizen, owing, live_gateway):
    live_gateway.deliveries = 2
    paid_through_gateway(client, citizen, owing, live_gateway)
    statuses = [(status, body["result"]) for status, body in live_gateway.answers]
    assert statuses == [(200, "recorded"), (200, "already_recorded")]
    assert Payment.objects.count() == 1
    assert owing.events.filter(event_type=EventType.PAYMENT_RECORDED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_wrong_signature_is_refused_and_logged(client, citizen, owing, live_gateway):
    live_gateway.wrong_signature = True
    paid_through_gateway(client, citizen, owing, live_gateway)
    ((status, body),) = live_gateway.answers
    assert status == 401 and body["error"]["code"] == "invalid_signature"
    assert set(body["error"]) == {"code", "message", "fields"}
    (refusal,) = PaymentRefusal.objects.all()
    assert refusal.reason == PaymentRefusal.Reason.SIGNATURE and refusal.ip == "127.0.0.1"
    # An unsigned body could come from anyone: the append-only log keeps its fingerprint only.
    assert owing.code not in refusal.body and refusal.body.startswith("(unsigned: ")
    assert refusal.headers["webhook-id"].startswith("msg_")
    assert not Payment.objects.exists()
    assert Dossier.objects.get(pk=owing.pk).status == Status.AWAITING_PAYMENT


@pytest.mark.django_db(transaction=True)
def test_a_wrong_amount_is_refused_and_logged(client, citizen, owing, live_gateway):
    live_gateway.wrong_amount = True
    paid_through_gateway(client, citizen, owing, live_gateway)
    ((status, body),) = live_gateway.answers
    assert status == 400 and body["error"]["code"] == "payment_refused"
    (refusal,) = PaymentRefusal.objects.all()
    assert refusal.reason == PaymentRefusal.Reason.AMOUNT and refusal.dossier_id == owing.pk
    assert not Payment.objects.exists()
    assert Dossier.objects.get(pk=owing.pk).status == Status.AWAITING_PAYMENT


@pytest.mark.django_db(transaction=True)
def test_an_old_timestamp_or_an_unknown_order_is_refused(live_server, owing, gateway):
    url = callback_url(live_server)
    gateway.notify(
        notify_url=url,
        order=f"{owing.code}.ab12",
        amount_vnd=15000,
        transaction_id="T1",
        timestamp=int(time.time()) - 3600,
    )
    gateway.notify(
        notify_url=url, order="XX-991231-9999.ab12", amount_vnd=15000, transaction_id="T2"
    )
    assert [status for status, _body in gateway.answers] == [401, 400]
    assert list(PaymentRefusal.objects.order_by("id").values_list("reason", flat=True)) == [
        PaymentRefusal.Reason.SIGNATURE,
        PaymentRefusal.Reason.REFERENCE,
    ]
    assert not Payment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_dossier_no_longer_waiting_keeps_the_money_for_reconciliation(
    live_server, owing, gateway, reception
):
    dossier_record_payment(actor=actor(reception), dossier=owing, receipt_number="0001234")
    gateway.notify(
        notify_url=callback_url(live_server),
        order=f"{owing.code}.ab12",
        amount_vnd=15000,
        transaction_id="T9",
    )
    ((status, body),) = gateway.answers
    assert status == 200 and body["result"] == "reconcile"
    late = Payment.objects.get(method=PaymentMethod.GATEWAY)
    assert late.outcome == Payment.Outcome.RECONCILE
    assert owing.events.filter(event_type=EventType.PAYMENT_RECORDED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_return_page_tells_the_state(client, citizen, owing, live_gateway):
    client.force_login(citizen)
    back = reverse("citizens:pay_return", args=[owing.pk])
    assert "Chưa nhận được xác nhận" in client.get(back).content.decode()
    paid_through_gateway(client, citizen, owing, live_gateway)
    page = client.get(back).content.decode()
    assert "Đã ghi nhận khoản nộp" in page and "fee_receipt" in page


# --- who may record -------------------------------------------------------------------------


def test_only_the_payment_account_records_as_an_integration(owing, commune):
    portal = Membership.objects.create(
        user=type(owing.applicant_user).objects.create_user("portal"),
        agency=commune,
        role=Role.INTEGRATION,
    ).user
    assert Action.RECORD_PAYMENT not in available_actions(portal, owing)
    with pytest.raises(Forbidden):
        dossier_record_payment(actor=actor(portal), dossier=owing, receipt_number="X")
    account = payment_account(commune)
    assert Action.RECORD_PAYMENT in available_actions(account, owing)


def test_a_counter_payment_is_recorded_with_its_receipt(owing, reception):
    dossier_record_payment(actor=actor(reception), dossier=owing, receipt_number="0001234")
    (paid,) = Payment.objects.all()
    assert (paid.method, paid.transaction_id, paid.amount_vnd, paid.confirmed_by) == (
        PaymentMethod.COUNTER,
        "0001234",
        15000,
        reception,
    )
    event = owing.events.get(event_type=EventType.PAYMENT_RECORDED)
    assert event.data["receipt_number"] == "0001234"
    assert Slip.Kind.FEE_RECEIPT in slips.available_kinds(owing)


def test_payments_are_append_only(owing, reception):
    dossier_record_payment(actor=actor(reception), dossier=owing, receipt_number="0001234")
    paid = Payment.objects.get()
    with pytest.raises(TypeError):
        paid.save()
    with pytest.raises(TypeError):
        Payment.objects.update(amount_vnd=1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_deliveries_record_one_payment(owing, commune):
    account = payment_account(commune)
    results, barrier = [], threading.Barrier(2)

    def deliver():
        try:
            barrier.wait()
            confirmation = payment_confirm(
                actor=actor(account),
                dossier=owing,
                method=PaymentMethod.GATEWAY,
                transaction_id="SAME-1",
                amount_vnd=15000,
                paid_at=owing.created_at,
            )
            results.append(confirmation.created)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert Payment.objects.count() == 1


def test_the_callback_without_a_gateway_configured_is_not_found(db, client, settings):
    settings.ONESTOP_PAYMENT_GATEWAY_SECRET = ""
    response = client.post(
        reverse("api-payment-callback"), data=b"{}", content_type="application/json"
    )
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_the_receipt_pdf_is_image_free_text(owing, reception):
    dossier_record_payment(actor=actor(reception), dossier=owing, receipt_number="0001234")
    event = owing.events.get(event_type=EventType.PAYMENT_RECORDED)
    content = slips.render_content(owing, Slip.Kind.FEE_RECEIPT, event)
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert "0001234" in text and "Nộp tại quầy" in text


# --- a procedure that charges at filing -------------------------------------------------------


@pytest.fixture
def filed(make_dossier, bank, procedure):
    """An online filing of a procedure whose 15,000 đồng fee is due at filing."""
    dossier = make_dossier(Status.SUBMITTED, procedure=procedure)
    assert not procedure.fee_due_later and dossier.fee_vnd == 15000
    return dossier


@pytest.mark.django_db(transaction=True)
def test_a_fee_due_at_filing_is_paid_online_without_touching_the_lifecycle(
    live_server, client, citizen, reception, filed, live_gateway
):
    client.force_login(citizen)
    page = client.get(reverse("citizens:dossier_detail", args=[filed.pk])).content.decode()
    assert "thu phí, lệ phí khi nộp hồ sơ" in page and 'class="vietqr"' in page
    client.force_login(reception)
    office = client.get(reverse("office:dossier", args=[filed.pk])).content.decode()
    assert "Chưa nộp phí, lệ phí khi nộp hồ sơ" in office

    paid_through_gateway(client, citizen, filed, live_gateway)
    assert live_gateway.answers[-1][0] == 200
    dossier = Dossier.objects.get(pk=filed.pk)
    assert (dossier.status, dossier.version) == (Status.SUBMITTED, filed.version)
    paid = Payment.objects.get()
    assert paid.outcome == Payment.Outcome.FILING_FEE and paid.amount_vnd == 15000
    event = dossier.events.order_by("-seq").first()
    assert event.event_type == EventType.FILING_FEE_PAID and event.role == Role.INTEGRATION
    assert (event.from_status, event.to_status) == (Status.SUBMITTED, Status.SUBMITTED)
    assert audit.verify_dossier(dossier) is None  # the chain holds the new event
    assert payment.owed(dossier) is None  # paid: nothing owed any more
    client.force_login(reception)
    office = client.get(reverse("office:dossier", args=[filed.pk])).content.decode()
    assert "Chưa nộp phí" not in office and paid.transaction_id in office
    slip = slips.slip_for(dossier, Slip.Kind.FEE_RECEIPT, event.seq)
    text = " ".join(p.extract_text() for p in PdfReader(slip.file.open("rb")).pages)
    assert paid.receipt_number in text and "15.000" in text
    # The same notification again: one payment.
    live_gateway.notify(
        notify_url=callback_url(live_server),
        order=f"{filed.code}.x",
        amount_vnd=15000,
        transaction_id=paid.transaction_id,
    )
    assert live_gateway.answers[-1][1]["result"] == "already_recorded"
    assert Payment.objects.count() == 1


def test_a_fee_due_at_filing_paid_at_the_counter_is_recorded_by_reception(
    client, citizen, reception, specialist, reception2, filed
):
    """Paid in cash at the counter: reception of the receiving agency records it against the
    counter's receipt number; nothing is owed online any more, and the lifecycle is untouched."""
    url = reverse("office:filing_fee_counter", args=[filed.pk])
    page = reverse("office:dossier", args=[filed.pk])
    client.force_login(specialist)
    assert 'name="receipt_number"' not in client.get(page).content.decode()
    response = client.post(url, {"receipt_number": "0004567"})
    assert response.status_code == 403
    assert "Chỉ cán bộ một cửa của nơi tiếp nhận" in response.content.decode()
    client.force_login(reception2)  # another commune's reception: the dossier is not theirs
    assert client.post(url, {"receipt_number": "0004567"}).status_code == 404
    client.force_login(reception)
    assert 'name="receipt_number"' in client.get(page).content.decode()
    response = client.post(url, {"receipt_number": "  "})
    assert response.status_code == 302 and not Payment.objects.exists()
    response = client.post(url, {"receipt_number": "0004567"})
    assert response.status_code == 302
    paid = Payment.objects.get()
    assert (paid.method, paid.outcome, paid.amount_vnd, paid.transaction_id) == (
        "counter",
        Payment.Outcome.FILING_FEE,
        15000,
        "0004567",
    )
    dossier = Dossier.objects.get(pk=filed.pk)
    assert (dossier.status, dossier.version) == (Status.SUBMITTED, filed.version)
    event = dossier.events.order_by("-seq").first()
    assert event.event_type == EventType.FILING_FEE_PAID and event.role == Role.RECEPTION
    assert audit.verify_dossier(dossier) is None
    assert payment.owed(dossier) is None
    # Nothing owed any more: a second receipt is refused, the citizen is not asked to pay.
    client.post(url, {"receipt_number": "0004568"})
    assert Payment.objects.count() == 1
    client.force_login(citizen)
    mine = client.get(reverse("citizens:dossier_detail", args=[filed.pk])).content.decode()
    assert 'class="vietqr"' not in mine and paid.receipt_number in mine


def test_a_persons_account_with_the_payment_accounts_name_is_never_it(owing, commune, settings):
    person = type(owing.applicant_user).objects.create_user("cong-thanh-toan", password="x-y-z-1")
    Membership.objects.create(user=person, agency=commune, role=Role.INTEGRATION)
    assert Action.RECORD_PAYMENT not in available_actions(person, owing)
    with pytest.raises(ImproperlyConfigured):
        payment_account(commune)


@pytest.mark.django_db(transaction=True)
def test_a_signed_body_that_is_not_a_payment_is_malformed(live_server, owing, gateway):
    body = '{"type": "payment.succeeded", "data": {"order": 1}'  # cut short
    headers = {
        "content-type": "application/json",
        "webhook-id": "msg_x",
        "webhook-timestamp": str(int(time.time())),
    }
    headers["webhook-signature"] = sign(SECRET, "msg_x", int(headers["webhook-timestamp"]), body)
    response = httpx.post(callback_url(live_server), content=body.encode(), headers=headers)
    assert response.status_code == 400 and response.json()["error"]["code"] == "payment_refused"
    assert PaymentRefusal.objects.get().reason == PaymentRefusal.Reason.MALFORMED
