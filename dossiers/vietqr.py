"""VietQR: the NAPAS profile of the EMVCo merchant-presented QR code, read by every Vietnamese
banking app, for a transfer of a fixed amount to the agency's account with the dossier code as
its reference.

The payload is a string of TLV fields (two-digit ID, two-digit length, value):

- 00 payload format "01"; 01 point of initiation "12" (dynamic: this amount, this dossier);
- 38 merchant account information (NAPAS): 00 GUID "A000000727", 01 the beneficiary (00 the
  bank's BIN, the Napas acquirer id; 01 the account number), 02 service "QRIBFTTA" (transfer
  to an account);
- 53 currency "704" (VND); 54 the amount (whole đồng); 58 country "VN";
- 62 additional data: 08 purpose of the transaction, the dossier code (what the banking app
  puts in the transfer's description, which the statement import matches, payments.py);
- 63 the CRC-16/CCITT-FALSE of everything before it, "6304" included, in 4 upper-case hex digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import segno
from django.utils.safestring import mark_safe

NAPAS_GUID = "A000000727"
SERVICE_TO_ACCOUNT = "QRIBFTTA"
CURRENCY_VND = "704"
# What field 62's values may hold: EMVCo's "ans" without the characters banks' apps strip.
_REFERENCE = re.compile(r"^[A-Za-z0-9 .\-_/]{1,25}$")


class PayloadError(ValueError):
    pass


def crc16(data: str) -> str:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR), 4 hex digits."""
    crc = 0xFFFF
    for byte in data.encode("utf-8"):
        crc ^= byte << 8
        for _bit in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return f"{crc:04X}"


def tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise PayloadError(f"field {tag} is longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


@dataclass(frozen=True)
class Transfer:
    bank_bin: str
    account: str
    amount_vnd: int | None
    reference: str


def payload(*, bank_bin: str, account: str, amount_vnd: int | None, reference: str) -> str:
    """The VietQR payload of a transfer of `amount_vnd` to `account` at the bank `bank_bin`."""
    if not re.fullmatch(r"\d{6}", bank_bin or ""):
        raise PayloadError("the bank's BIN has 6 digits")
    if not re.fullmatch(r"[A-Za-z0-9]{1,19}", account or ""):
        raise PayloadError("the account number has 1 to 19 letters or digits")
    if not _REFERENCE.match(reference or ""):
        raise PayloadError("the reference has 1 to 25 plain characters")
    if amount_vnd is not None and not (0 < amount_vnd < 10**13):
        raise PayloadError("the amount is a positive whole number of đồng")
    beneficiary = tlv("00", bank_bin) + tlv("01", account)
    merchant = tlv("00", NAPAS_GUID) + tlv("01", beneficiary) + tlv("02", SERVICE_TO_ACCOUNT)
    body = (
        tlv("00", "01")
        + tlv("01", "12" if amount_vnd else "11")
        + tlv("38", merchant)
        + tlv("53", CURRENCY_VND)
        + (tlv("54", str(amount_vnd)) if amount_vnd else "")
        + tlv("58", "VN")
        + tlv("62", tlv("08", reference))
        + "6304"
    )
    return body + crc16(body)


def fields(data: str) -> dict[str, str]:
    """One level of TLV fields, by ID."""
    out, i = {}, 0
    while i < len(data):
        if i + 4 > len(data) or not data[i : i + 4].isdigit():
            raise PayloadError(f"malformed field at {i}")
        tag, length = data[i : i + 2], int(data[i + 2 : i + 4])
        value = data[i + 4 : i + 4 + length]
        if len(value) != length:
            raise PayloadError(f"field {tag} is cut short")
        out[tag] = value
        i += 4 + length
    return out


def parse(data: str) -> Transfer:
    """The transfer a VietQR payload asks for; PayloadError if its CRC or structure is wrong."""
    if len(data) < 8 or data[-8:-4] != "6304" or crc16(data[:-4]) != data[-4:].upper():
        raise PayloadError("wrong CRC")
    top = fields(data)
    merchant = fields(top.get("38", ""))
    if merchant.get("00") != NAPAS_GUID or top.get("53") != CURRENCY_VND:
        raise PayloadError("not a VietQR transfer in VND")
    beneficiary = fields(merchant.get("01", ""))
    amount = top.get("54")
    return Transfer(
        bank_bin=beneficiary.get("00", ""),
        account=beneficiary.get("01", ""),
        amount_vnd=int(amount) if amount else None,
        reference=fields(top.get("62", "")).get("08", ""),
    )


def svg(data: str, *, title: str = "") -> str:
    """The QR code of `data` as inline SVG (segno's markup: the payload is in the path data)."""
    code = segno.make(data, error="m", micro=False)
    # segno's own markup; segno escapes the title.
    return mark_safe(  # nosec B308 B703
        code.svg_inline(scale=5, border=4, light="#fff", omitsize=True, title=title or None)
    )
