"""Load the real commune procedures and the demo province from procedures-commune.json.

The JSON is a copy of the project's researched data set (sources and confidence per entry are
kept on each Procedure). Agency identifier codes are NOT verified: the demo ones are marked
fictitious (`Agency.code_is_fictitious`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.db import transaction

from dossiers.models import (
    Agency,
    Channel,
    DocumentType,
    Procedure,
    ProcedureDocument,
    ProcedureField,
)

DATA_FILE = Path(__file__).with_name("procedures-commune.json")

# Fictitious QCVN 102-shaped codes for the demo (see agency_code_note in the data file).
PROVINCE_CODE = "000.00.00.H27"
COMMUNE_CODES = ("000.00.01.H27", "000.00.02.H27", "000.00.03.H27")

CHANNEL_NAMES = {"direct": Channel.COUNTER, "online": Channel.ONLINE, "postal": Channel.POSTAL}

# Procedures whose financial obligations are paid before the result (the clock pauses meanwhile),
# and which pause rather than restart the time limit while waiting for a supplement.
FEE_DUE_LATER = {"1.013978"}
PAUSE_ON_SUPPLEMENT = {"1.013978", "1.013225"}

# The online fee level where it differs from the counter's (read in each procedure's fee_note
# and fee_items): the national residence fees (TT 75/2022/TT-BTC) have their own online levels;
# Hải Phòng charges nothing online from 08/8/2026 for the fees its council sets (NQ 23/2026),
# which excludes the national copy fee of 2.000635.
FREE_ONLINE_IN_HAI_PHONG = ("1.004873", "1.004859", "1.001022", "1.004884", "1.013225", "1.013978")
ONLINE_FEES = {"1.004222": 10000, "1.004194": 7000} | dict.fromkeys(FREE_ONLINE_IN_HAI_PHONG, 0)

# Where the demo agencies take payments. The counters' hours are the default office hours
# (ONESTOP_OFFICE_HOURS); the bank accounts are FICTITIOUS, like the agency codes.
OFFICE_HOURS = "Thứ Hai đến Thứ Sáu: sáng 7:00–11:30, chiều 13:30–17:00"
DEMO_BANK = "Ngân hàng mẫu – chi nhánh Hải Phòng (tài khoản giả định, dữ liệu mẫu)"
# A BIN of the Napas 9704 range for the demo's fictitious bank (its VietQR codes scan, but pay
# nobody).
DEMO_BANK_BIN = "970499"

# Papers that recur between the demo's procedures (the documents store keeps them once, by type;
# dossiers/document_store.py): code, name, the procedures whose result it is, and the papers
# (procedure code, start of the paper's name in the data file) that ask for it. The codes are
# the national result codes (mã kết quả) quoted in the data file where it gives one; GT.* codes
# are ours, for papers issued outside the commune (a hospital's birth notice...).
DOCUMENT_TYPES = [
    (
        "KQ.G15.000031",
        "Giấy khai sinh",
        ("1.001193", "1.000689", "1.004884"),
        [("1.004884", "Bản sao Giấy khai sinh cũ")],
    ),
    (
        "KQ.G15.000038",
        "Giấy xác nhận tình trạng hôn nhân",
        ("1.004873",),
        [("1.004873", "Giấy xác nhận tình trạng hôn nhân đã được cấp trước đó")],
    ),
    ("KQ.G15.000032", "Giấy chứng nhận kết hôn", ("1.000894",), []),
    ("KQ.G15.000034", "Trích lục khai tử", ("1.000656",), []),
    (
        "GT.GCN-QSDD",
        "Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
        ("1.013978",),
        [
            ("1.013225", "Một trong các giấy tờ hợp pháp về đất đai"),
            ("2.001035", "Bản chính hoặc bản sao có chứng thực"),
        ],
    ),
    (
        "GT.GIAY-CHUNG-SINH",
        "Giấy chứng sinh",
        (),
        [("1.001193", "Giấy chứng sinh"), ("1.000689", "Bản chính Giấy chứng sinh")],
    ),
    ("GT.GIAY-BAO-TU", "Giấy báo tử", (), [("1.000656", "Giấy báo tử")]),
]

_APPLICANT_FIELDS = [
    dict(key="applicant_name", label="Họ và tên người yêu cầu", profile_source="full_name"),
    dict(
        key="applicant_id",
        label="Số định danh cá nhân",
        type="id_number",
        profile_source="id_number",
    ),
    dict(key="applicant_address", label="Nơi cư trú", profile_source="address", required=False),
]

# Questions of each procedure's e-form, beyond the applicant block.
FORM_FIELDS: dict[str, list[dict]] = {
    "1.001193": [
        dict(key="child_name", label="Họ, chữ đệm, tên của trẻ"),
        dict(key="child_birth_date", label="Ngày, tháng, năm sinh", type="date"),
        dict(key="child_sex", label="Giới tính", type="choice", choices=["Nam", "Nữ"]),
        dict(key="birth_place", label="Nơi sinh"),
        dict(key="mother_name", label="Họ, chữ đệm, tên của mẹ"),
        dict(key="father_name", label="Họ, chữ đệm, tên của cha", required=False),
        dict(
            key="relationship",
            label="Quan hệ với người được khai sinh",
            type="choice",
            choices=["Cha", "Mẹ", "Ông", "Bà", "Người thân thích khác"],
        ),
    ],
    "1.000656": [
        dict(key="deceased_name", label="Họ, chữ đệm, tên người chết"),
        dict(key="death_date", label="Ngày chết", type="date"),
        dict(key="death_place", label="Nơi chết"),
        dict(key="cause", label="Nguyên nhân chết", required=False),
    ],
    "1.000894": [
        dict(key="partner_name", label="Họ, chữ đệm, tên bên kia"),
        dict(key="partner_id", label="Số định danh cá nhân bên kia", type="id_number"),
        dict(key="partner_birth_date", label="Ngày sinh bên kia", type="date"),
    ],
    "2.000635": [
        dict(
            key="record_type",
            label="Loại giấy tờ cần cấp bản sao",
            type="choice",
            choices=["Giấy khai sinh", "Trích lục kết hôn", "Trích lục khai tử", "Khác"],
        ),
        dict(key="copies", label="Số bản sao", type="number"),
        dict(key="purpose", label="Mục đích sử dụng", required=False),
    ],
    "1.004873": [
        dict(
            key="purpose",
            label="Mục đích sử dụng",
            type="choice",
            choices=["Kết hôn", "Mua bán, chuyển nhượng tài sản", "Khác"],
        ),
        dict(
            key="marital_status",
            label="Tình trạng hôn nhân hiện tại",
            type="choice",
            choices=["Chưa kết hôn", "Đã ly hôn", "Góa"],
        ),
    ],
    "1.004222": [
        dict(key="new_address", label="Địa chỉ đăng ký thường trú"),
        dict(key="household_head", label="Họ tên chủ hộ", required=False),
        dict(key="relation_to_head", label="Quan hệ với chủ hộ", required=False),
    ],
    "1.004194": [
        dict(key="temp_address", label="Địa chỉ đăng ký tạm trú"),
        dict(key="stay_until", label="Tạm trú đến ngày", type="date"),
    ],
    "1.013225": [
        dict(key="plot_address", label="Địa điểm xây dựng"),
        dict(key="floor_area", label="Tổng diện tích sàn (m²)", type="number"),
        dict(key="floors", label="Số tầng", type="number"),
    ],
    "1.013978": [
        dict(key="plot_address", label="Địa chỉ thửa đất"),
        dict(key="plot_number", label="Số thửa, tờ bản đồ"),
        dict(key="area", label="Diện tích (m²)", type="number"),
    ],
}
_DEFAULT_FIELDS = [dict(key="request", label="Nội dung yêu cầu", type="textarea")]


def _lower_first(name: str) -> str:
    """'Xã Vĩnh Bảo' -> 'xã Vĩnh Bảo' (the unit type is lower case inside a longer name)."""
    return name[:1].lower() + name[1:]


def _place(commune: dict) -> str:
    """'Xã Vĩnh Bảo' -> 'Vĩnh Bảo': the place name of the slips' place-and-date line."""
    name, unit = commune["name"], commune.get("division_type", "")
    if unit and name.lower().startswith(unit.lower() + " "):
        return name[len(unit) + 1 :]
    return name


def load() -> dict:
    with DATA_FILE.open(encoding="utf-8") as handle:
        return json.load(handle)


def _copy_counts(text: str) -> tuple[int, int, int]:
    """(originals, certified copies, copies) from wording such as '1 bản chính + 1 bản sao'."""
    originals = certified = copies = 0
    for number, kind in re.findall(r"(\d+)\s*(bản chính|bản sao chứng thực|bản sao)", text):
        if kind == "bản chính":
            originals += int(number)
        elif kind == "bản sao chứng thực":
            certified += int(number)
        else:
            copies += int(number)
    if not (originals or certified or copies):
        originals = 1
    return originals, certified, copies


def _time_limit(spec: dict) -> tuple[int, str] | None:
    if spec.get("value") is None:
        return None
    if spec["unit"] == "same_day":
        return 0, "working_days"  # "same day" = 0 working days (domain rules)
    return int(spec["value"]), spec["unit"]


@transaction.atomic
def load_agencies(data: dict | None = None) -> tuple[Agency, list[Agency]]:
    data = data or load()
    province_data = data["province"]
    province, _created = Agency.objects.update_or_create(
        code=PROVINCE_CODE,
        defaults=dict(
            name=f"Ủy ban nhân dân {province_data['name']}",
            one_stop_unit="Trung tâm Phục vụ hành chính công thành phố Hải Phòng",
            level=Agency.Level.PROVINCE,
            administrative_code=province_data["code"],
            address="Số 18 Hoàng Diệu, phường Hồng Bàng, thành phố Hải Phòng",
            place_name=province_data["short_name"],
            office_hours=OFFICE_HOURS,
            code_is_fictitious=True,
        ),
    )
    communes = []
    for number, (code, commune) in enumerate(
        zip(COMMUNE_CODES, data["communes"], strict=True), start=1
    ):
        agency, _created = Agency.objects.update_or_create(
            code=code,
            defaults=dict(
                name=f"Ủy ban nhân dân {_lower_first(commune['name'])}",
                one_stop_unit=commune["one_stop_unit"],
                level=Agency.Level.COMMUNE,
                parent=province,
                administrative_code=commune["code"],
                address=f"{commune['name']}, thành phố Hải Phòng",
                place_name=_place(commune),
                phone="0225 3880 000",
                office_hours=OFFICE_HOURS,
                bank_account_number=f"9704 0000 {number:04d}",
                bank_name=DEMO_BANK,
                bank_bin=DEMO_BANK_BIN,
                bank_beneficiary=f"Ủy ban nhân dân {_lower_first(commune['name'])}",
                code_is_fictitious=True,
            ),
        )
        communes.append(agency)
    return province, communes


@transaction.atomic
def load_procedures(data: dict | None = None) -> list[Procedure]:
    """Create or update the procedures that have a determinable time limit."""
    data = data or load()
    loaded = []
    for item in data["procedures"]:
        limit = _time_limit(item["time_limit"])
        if limit is None:
            continue  # e.g. 1.001776: time limit not verified after the 2025 reform
        value, unit = limit
        procedure, _created = Procedure.objects.update_or_create(
            code=item["code"],
            defaults=dict(
                name=item["name"],
                name_en=item.get("name_en", ""),
                sector=item["sector"],
                competent_level=Agency.Level.COMMUNE,
                time_limit_value=value,
                time_limit_unit=unit,
                time_limit_note=item["time_limit"].get("note", ""),
                supplement_policy=(
                    Procedure.SupplementPolicy.PAUSE
                    if item["code"] in PAUSE_ON_SUPPLEMENT
                    else Procedure.SupplementPolicy.RESTART
                ),
                fee_vnd=item.get("fee_vnd"),
                fee_online_vnd=ONLINE_FEES.get(item["code"]),
                fee_note=item.get("fee_note", ""),
                fee_due_later=item["code"] in FEE_DUE_LATER,
                channels=sorted(CHANNEL_NAMES[c] for c in item.get("channels", [])),
                result_description=item.get("result", ""),
                legal_basis=item.get("legal_basis", []),
                confidence=item.get("confidence", ""),
                sources=item.get("sources", []),
                active=True,
            ),
        )
        if not procedure.documents.exists():
            for order, doc in enumerate(item["documents"], start=1):
                originals, certified, copies = _copy_counts(doc.get("copies", ""))
                channel_text = doc.get("channel") or ""
                ProcedureDocument.objects.create(
                    procedure=procedure,
                    name=doc["name"],
                    kind=doc.get("kind", "submit"),
                    required=bool(doc.get("required")),
                    condition=doc.get("condition", "")[:255],
                    channels=sorted(
                        {
                            CHANNEL_NAMES[c]
                            for c in re.split(r"[/,]", channel_text)
                            if c in CHANNEL_NAMES
                        }
                    ),
                    originals=originals,
                    certified_copies=certified,
                    copies=copies,
                    copies_note=doc.get("copies", "")[:255],
                    allowed_types=["pdf", "jpg", "png"],
                    order=order,
                )
        if not procedure.fields.exists():
            specs = _APPLICANT_FIELDS + FORM_FIELDS.get(item["code"], _DEFAULT_FIELDS)
            for order, spec in enumerate(specs, start=1):
                ProcedureField.objects.create(procedure=procedure, order=order, **spec)
        loaded.append(procedure)
    load_document_types(loaded)
    return loaded


def load_document_types(procedures: list[Procedure]) -> None:
    """The recurring papers' types, on the procedures' results and papers (changed rows only,
    so a second seeding writes no history)."""
    by_code = {p.code: p for p in procedures}
    for code, name, results, asked in DOCUMENT_TYPES:
        kind, _created = DocumentType.objects.update_or_create(code=code, defaults={"name": name})
        for procedure_code in results:
            procedure = by_code.get(procedure_code)
            if procedure is not None and procedure.result_document_type_id != kind.pk:
                procedure.result_document_type = kind
                procedure.save()
        for procedure_code, start in asked:
            for document in ProcedureDocument.objects.filter(
                procedure__code=procedure_code, name__startswith=start
            ).exclude(document_type=kind):
                document.document_type = kind
                document.save()
