"""Provincial-scale data for benchmarks: communes, staff, citizens and up to millions of dossiers,
each with its events (valid hash chain and Ed25519 seals) and its sealed history rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python bench/seed.py \\
        --dossiers 1000000 --communes 100 [--seed 1] [--jobs 2] [--reset]

PostgreSQL only. The database is migrated first (an empty one, or wiped with --reset). Rows are
built in Python and loaded with COPY, in chunks, by `--jobs` processes; what a dossier holds is
what the services would have written for the same actions (dossiers/demo/seeding.py walks the
same paths through the services one by one, far too slowly for a million): the chain hashes, the
history rows' seal hashes, their fingerprints and the seals come from the project's own functions
(audit.event_content_hash, audit.fingerprint_of, sealing.history_content_hash). Not seeded:
attachments and their files, slips, clock-pause rows, e-mails, feed entries, webhook deliveries
and access-log entries (none of them is needed for a dossier to show, be acted on or verify).

Every official logs in with the demo password and the demo authenticator (`make otp`).
"""

from __future__ import annotations

import argparse
import base64
import bisect
import datetime as dt
import json
import math
import multiprocessing
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Shares of each final status over two years of dossiers: most are long finished; the open ones
# are the recent ones (and the overdue ones among them).
STATUS_WEIGHTS = {
    "returned": 80.0,
    "resolved": 1.5,
    "refused": 3.0,
    "withdrawn": 2.0,
    "stopped": 1.0,
    "processing": 4.5,
    "received": 1.0,
    "submitted": 1.5,
    "pending_approval": 1.5,
    "supplement_requested": 1.5,
    "awaiting_payment": 0.5,
    "draft": 2.0,
}
ONLINE_ONLY = {"draft", "submitted", "refused", "withdrawn"}
RECENT = {
    "processing",
    "received",
    "pending_approval",
    "supplement_requested",
    "awaiting_payment",
    "resolved",
}
COUNTER, ONLINE, POSTAL = 1, 2, 3
SLOTS = 16  # history rows and events of dossier n get ids n*SLOTS+1 .. n*SLOTS+15
DAYS_BACK = 730
CHUNK = 5000
BIG = 20000  # from this many dossiers on, secondary indexes are built after the load
TABLES = ("dossiers_dossier", "dossiers_historicaldossier", "dossiers_dossierevent")

SURNAMES = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Trịnh", "Mai", "Tô",
]  # fmt: skip
SURNAME_WEIGHTS = [38, 11, 9, 7, 5, 3, 3, 4, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1]
MIDDLE_M = ["Văn", "Đức", "Minh", "Quang", "Hữu", "Thanh", "Công", "Ngọc", "Xuân", "Duy"]
MIDDLE_F = ["Thị", "Thu", "Ngọc", "Thanh", "Minh", "Kim", "Thùy", "Hồng", "Phương", "Bích"]
GIVEN_M = [
    "An", "Bình", "Cường", "Dũng", "Đạt", "Giang", "Hải", "Hiếu", "Hùng", "Huy", "Khánh", "Khoa",
    "Long", "Nam", "Phong", "Phúc", "Quân", "Sơn", "Tâm", "Thắng", "Thành", "Trung", "Tuấn", "Việt",
    "Vinh",
]  # fmt: skip
GIVEN_F = [
    "Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hoa", "Hương", "Lan", "Linh", "Loan",
    "Mai", "My", "Nga", "Ngân", "Nhung", "Oanh", "Phương", "Quyên", "Tâm", "Thảo", "Trang", "Uyên",
    "Yến",
]  # fmt: skip
PLACES = [
    "An Lão", "Kiến Thụy", "Tiên Lãng", "Thủy Nguyên", "Cát Hải", "An Dương", "Đồ Sơn", "Hải An",
    "Kiến An", "Quang Trung", "Tân Minh", "Hùng Thắng", "Nam Am", "Tam Cường", "Cổ Am", "Lý Học",
    "Hòa Bình", "Thắng Thủy", "Trung Lập", "Việt Tiến", "Kim Sơn", "Bạch Đằng", "Lưu Kiếm",
    "Tân Dương", "Đông Hải", "Nam Sơn", "Đại Hà", "Ngũ Lão", "Lê Lợi", "Trần Phú", "Tân Tiến",
    "Hồng Phong", "Quyết Tiến", "Minh Tân", "Chiến Thắng", "Tân Trào", "Hưng Đạo", "Đoàn Lập",
]  # fmt: skip
STREETS = [
    "Trần Phú", "Lê Lợi", "Hai Bà Trưng", "Nguyễn Trãi", "Quang Trung", "Lạch Tray", "Tô Hiệu",
    "Điện Biên Phủ", "Hoàng Văn Thụ", "Lê Thánh Tông", "Văn Cao", "Nguyễn Văn Linh",
]  # fmt: skip
REFUSE_REASONS = [
    "Hồ sơ không thuộc thẩm quyền giải quyết của cơ quan.",
    "Thành phần hồ sơ không đúng quy định.",
]
WITHDRAW_REASONS = ["Tôi muốn nộp lại hồ sơ khác.", "Không còn nhu cầu giải quyết."]
STOP_REASONS = ["Người yêu cầu đã chết trước khi có kết quả.", "Người yêu cầu đề nghị dừng."]
SUPPLEMENT_REASON = "Bản chụp không rõ nét, đề nghị nộp lại bản rõ hơn."
SEND_BACK_REASON = "Kiểm tra lại thông tin ngày sinh."
RESCHEDULE_REASON = "Cần xác minh thêm thông tin tại cơ quan khác."
COMMENTS = {
    "very_satisfied": "Cán bộ hướng dẫn tận tình.",
    "satisfied": "",
    "unsatisfied": "Trả kết quả chậm.",
}

# Set in the parent before the workers fork; the workers read them.
REF: dict = {}


def log_default(message: str) -> None:
    print(message, flush=True)


# --- time ----------------------------------------------------------------------------------------

VN_OFFSET = 7 * 3600  # Vietnam keeps UTC+7 all year


class Stamps:
    """An instant (whole epoch seconds) in each written form, computed once per instant."""

    def __init__(self, vn_tz):
        self.vn_tz, self.cache = vn_tz, {}

    def get(self, epoch: int):
        found = self.cache.get(epoch)
        if found is None:
            moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
            found = (
                moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),  # canonical (seals, chain) and COPY
                str(moment),  # as history_fingerprint sees a stored value
                moment.astimezone(self.vn_tz).isoformat(),  # as the services write due dates
                moment,
            )
            self.cache[epoch] = found
        return found


class OfficeTime:
    """The calendar's working days and office hours as a table over the seeded years, so that
    office time between two instants is two lookups (calendar.working_seconds_between walks
    day by day). Built from WorkCalendar's own rules."""

    def __init__(self, calendar, first: dt.date, last: dt.date):
        self.calendar = calendar
        self.intervals = [
            (h1.hour * 3600 + h1.minute * 60, h2.hour * 3600 + h2.minute * 60)
            for h1, h2 in calendar.office_hours
        ]
        self.per_day = sum(b - a for a, b in self.intervals)
        self.first = first.toordinal()
        self.days = (last - first).days + 1
        self.working = [
            calendar.is_working_day(first + dt.timedelta(days=i)) for i in range(self.days)
        ]
        self.cumulative = [0]
        for flag in self.working:
            self.cumulative.append(self.cumulative[-1] + (self.per_day if flag else 0))
        self.workdays = [i for i, flag in enumerate(self.working) if flag]
        epoch_day = dt.date(1970, 1, 1).toordinal()
        self.day0_epoch = (self.first - epoch_day) * 86400 - VN_OFFSET

    def day_index(self, epoch: int) -> tuple[int, int]:
        local = epoch - self.day0_epoch
        return local // 86400, local % 86400

    def epoch_of(self, index: int, seconds: int) -> int:
        return self.day0_epoch + index * 86400 + seconds

    def within(self, seconds: int) -> int:
        """Office seconds of a working day elapsed at `seconds` after local midnight."""
        total = 0
        for begin, end in self.intervals:
            if seconds > begin:
                total += min(seconds, end) - begin
        return total

    def cumulative_at(self, epoch: int) -> int:
        index, seconds = self.day_index(epoch)
        index = min(max(index, 0), self.days - 1)
        base = self.cumulative[index]
        return base + (self.within(seconds) if self.working[index] else 0)

    def between(self, start: int, end: int) -> int:
        return max(0, self.cumulative_at(end) - self.cumulative_at(start))

    def add(self, start: int, seconds: int) -> int:
        """The instant `seconds` of office time after `start`."""
        target = self.cumulative_at(start) + seconds
        index = bisect.bisect_left(self.cumulative, target) - 1
        index = max(index, 0)
        while index < self.days and not self.working[index]:
            index += 1
        rest = target - self.cumulative[index]
        for begin, end in self.intervals:
            if rest <= end - begin:
                return self.epoch_of(index, begin + rest)
            rest -= end - begin
        return self.epoch_of(index, self.intervals[-1][1])

    def snap(self, epoch: int, rng) -> int:
        """The instant itself when in office hours, else a few minutes into the next opening."""
        index, seconds = self.day_index(epoch)
        if 0 <= index < self.days and self.working[index]:
            for begin, end in self.intervals:
                if begin <= seconds < end:
                    return epoch
                if seconds < begin:
                    return self.epoch_of(index, begin + rng.randint(60, 1800))
        index += 1
        while index < self.days and not self.working[index]:
            index += 1
        return self.epoch_of(index, self.intervals[0][0] + rng.randint(60, 1800))

    def office_instant(self, index: int, rng) -> int:
        """A working moment of day `index`, before the afternoon cut-off mostly."""
        morning, afternoon = self.intervals[0], self.intervals[-1]
        if rng.random() < 0.6:
            seconds = rng.randint(morning[0] + 600, morning[1] - 300)
        else:
            seconds = rng.randint(afternoon[0] + 300, afternoon[1] - 1800)
        return self.epoch_of(index, seconds)


# --- the reference data (agencies, procedures, staff) -------------------------------------------


def commune_code(number: int) -> str:
    # QCVN 102-shaped and fictitious like the demo's; the first three are the demo's own.
    return f"000.{number // 100:02d}.{number % 100:02d}.H27"


def reference_data(communes: int, rng, log) -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from dossiers.demo import catalogue, seeding
    from dossiers.models import Agency, Membership
    from dossiers.workflow import Role

    User = get_user_model()
    data = catalogue.load()
    province, demo_communes = catalogue.load_agencies(data)
    agencies = list(demo_communes[:communes])
    used = set()
    for number in range(len(agencies) + 1, communes + 1):
        place = PLACES[(number - 4) % len(PLACES)]
        name = place if place not in used else f"{place} {number}"
        used.add(name)
        agencies.append(
            Agency.objects.create(
                code=commune_code(number),
                name=f"Ủy ban nhân dân xã {name}",
                one_stop_unit=f"Bộ phận Một cửa xã {name}",
                level=Agency.Level.COMMUNE,
                parent=province,
                administrative_code=f"{11000 + number:05d}",
                address=f"Xã {name}, thành phố Hải Phòng",
                phone="0225 3880 000",
                code_is_fictitious=True,
            )
        )
    procedures = catalogue.load_procedures(data)
    # One hash for every official: PBKDF2 per account would take minutes for a province.
    password = make_password(seeding.PASSWORD)

    def official(username: str, agency, roles) -> tuple[int, str]:
        name = person_name(rng)[0]
        user, _created = User.objects.update_or_create(
            username=username,
            defaults=dict(
                first_name=name, last_name="", email=f"{username}@example.vn", password=password
            ),
        )
        for role in roles:
            Membership.objects.get_or_create(user=user, agency=agency, role=role)
        seeding._demo_authenticator(user)
        return user.pk, name

    staff = []
    for number, agency in enumerate(agencies, start=1):
        staff.append(
            {
                role: official(f"{role}-{number}", agency, [role])
                for role in (Role.RECEPTION, Role.SPECIALIST, Role.LEADER)
            }
        )
    supervisor = official("supervisor", province, [Role.SUPERVISOR])
    admin, _created = User.objects.update_or_create(
        username="admin",
        defaults=dict(
            is_staff=True, is_superuser=True, email="admin@example.vn", password=password
        ),
    )
    seeding._demo_authenticator(admin)
    log(
        f"reference data: 1 province, {len(agencies)} communes, {len(procedures)} procedures, "
        f"{3 * len(agencies) + 2} staff accounts"
    )
    described = []
    for procedure in procedures:
        docs = list(procedure.documents.order_by("order", "id"))
        described.append(
            dict(
                id=procedure.pk,
                code=procedure.code,
                value=procedure.time_limit_value,
                unit=procedure.time_limit_unit,
                channels=set(procedure.channels or [COUNTER, ONLINE, POSTAL]),
                fee=max(procedure.fee_vnd or 0, 1000),
                fee_due_later=procedure.fee_due_later,
                restart=procedure.supplement_policy == "restart",
                fields=list(procedure.fields.all()),
                first_doc=(docs[0].pk, docs[0].name) if docs else None,
                papers={
                    channel: [d.pk for d in docs if d.must_be_uploaded(channel)]
                    for channel in (COUNTER, POSTAL)
                },
            )
        )
    return dict(
        communes=[(a.pk, a.code) for a in agencies],
        staff=staff,
        supervisor=supervisor,
        procedures=described,
        usernames=[
            f"{role}-{n}"
            for n in range(1, len(agencies) + 1)
            for role in ("reception", "specialist", "leader")
        ]
        + ["supervisor", "admin"],
    )


def person_name(rng) -> tuple[str, bool]:
    female = rng.random() < 0.5
    surname = rng.choices(SURNAMES, SURNAME_WEIGHTS)[0]
    middle = rng.choice(MIDDLE_F if female else MIDDLE_M)
    given = rng.choice(GIVEN_F if female else GIVEN_M)
    return f"{surname} {middle} {given}", female


def person(rng, number: int | None, today: dt.date) -> dict:
    """An applicant's snapshot (validators.APPLICANT_FIELDS). `number` makes the ID unique."""
    name, female = person_name(rng)
    born = today - dt.timedelta(days=rng.randint(18 * 365, 80 * 365))
    century = 0 if born.year < 2000 else 2
    # Accounts' serials start at 100000, clear of the demo residents' (0312000000NN).
    serial = 100000 + number if number is not None else rng.randint(0, 999999)
    id_number = f"031{century + (1 if female else 0)}{born.year % 100:02d}{serial:06d}"
    if rng.random() < 0.5:
        address = f"Số {rng.randint(1, 300)} {rng.choice(STREETS)}, "
    else:
        address = f"Thôn {rng.randint(1, 12)}, "
    address += f"xã {rng.choice(PLACES)}, thành phố Hải Phòng"
    return {
        "full_name": name,
        "id_number": id_number,
        "date_of_birth": born.isoformat(),
        "phone": f"09{rng.randint(0, 99999999):08d}",
        "email": "",
        "address": address,
    }


# --- the plan: who files what, where and when ----------------------------------------------------


def make_plan(total: int, rng, office: OfficeTime, now: int, calendar) -> tuple[list, int]:
    """One tuple per dossier, sorted by creation: (commune, status, channel, procedure,
    created, submitted or None, received or None, account or -1). Codes are numbered later."""
    procedures = REF["procedures"]
    communes = len(REF["communes"])
    statuses, weights = zip(*STATUS_WEIGHTS.items(), strict=True)
    cumulative = list(_accumulate(weights))
    online_procs = [i for i, p in enumerate(procedures) if ONLINE in p["channels"]]
    fee_procs = [i for i, p in enumerate(procedures) if p["fee_due_later"]] or online_procs
    workdays = office.workdays
    today_index, _s = office.day_index(now)
    last_work = bisect.bisect_right(workdays, today_index) - 1
    plan = []
    online = 0
    # A commune with a third of a million dossiers has its open ones spread over more days,
    # or a day would need more than the 9999 numbers a dossier code allows.
    spread = max(1, math.ceil(total / communes / 25000))
    for index in range(total):
        # Every status at every commune first (so that even a small seed has each), then drawn.
        if index < len(statuses) * communes:
            status = statuses[index // communes]
        else:
            status = statuses[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]
        commune = index % communes
        proc = rng.choice(fee_procs if status == "awaiting_payment" else online_procs)
        channels = procedures[proc]["channels"]
        if status in ONLINE_ONLY:
            channel = ONLINE
        else:
            draw = rng.random()
            channel = ONLINE if draw < 0.45 else COUNTER if draw < 0.95 else POSTAL
            if channel not in channels:
                channel = ONLINE
        limit = _limit_days(procedures[proc])
        if status == "draft":
            created = now - rng.randint(3600, 10 * 86400)
            plan.append((commune, status, channel, proc, created, None, None, -1))
            online += 1
            continue
        if status == "submitted":
            index = workdays[max(0, last_work - rng.randint(0, 3 + spread // 2))]
            submitted = min(office.office_instant(index, rng), now - rng.randint(1200, 7200))
            created = submitted - rng.randint(3600, 30 * 3600)
            plan.append((commune, status, channel, proc, created, submitted, None, -1))
            online += 1
            continue
        if status in RECENT:
            window = max(limit, spread)
            back = rng.randint(
                min(3, window) if status in ("resolved", "supplement_requested") else 0, window
            )
            back = back + limit // 2 if rng.random() < 0.3 else back  # some of them overdue
        else:
            back = rng.randint(min(limit + 4, last_work), last_work)
        received = office.office_instant(workdays[max(0, last_work - back)], rng)
        if received > now - 3600:
            received = office.office_instant(workdays[last_work - 1], rng)
        if channel == ONLINE:
            submitted = received - rng.randint(20, 90) * 60
            created = submitted - rng.randint(3600, 30 * 3600)
            online += 1
        else:
            submitted = created = received
        plan.append((commune, status, channel, proc, created, submitted, received, -1))
    plan.sort(key=lambda item: item[4])
    return plan, online


def _accumulate(values):
    total = 0
    for value in values:
        total += value
        yield total


def _limit_days(procedure) -> int:
    value, unit = procedure["value"], procedure["unit"]
    if unit == "working_hours":
        return max(1, math.ceil(value / 8))
    if unit == "calendar_days":
        return max(1, value * 5 // 7)
    return max(1, value)


def number_codes(plan: list, ids_from: int, taken: dict) -> tuple[dict, dict]:
    """Dossier id -> code number (per commune and Vietnam day, in submission order), and
    (commune, day) -> last number, for the code sequence table."""
    order = sorted((item[5], index) for index, item in enumerate(plan) if item[5] is not None)
    last: dict = dict(taken)  # numbers already handed out (a database seeded before)
    numbers = {}
    for submitted, index in order:
        key = (plan[index][0], (submitted + VN_OFFSET) // 86400)
        number = last.get(key, 0) + 1
        if number > 9999:
            raise SystemExit("more than 9999 dossiers a day at one commune: use more communes")
        last[key] = numbers[ids_from + index] = number
    return numbers, last


# --- one dossier's rows --------------------------------------------------------------------------


def copy_text(value) -> str:
    """One COPY (text format) field."""
    if type(value) is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return _escape(value)
        return value
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    return _escape(value)


def _escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


class Builder:
    """Builds a chunk of dossiers: the current rows, the history rows and the events."""

    def __init__(self, chunk_seed: int):
        from dossiers.models import Dossier
        from dossiers.worktime import VN_TZ

        self.rng = random.Random(chunk_seed)  # nosec B311 (benchmark data, not a secret)
        self.stamps = Stamps(VN_TZ)
        self.office = REF["office"]
        self.calendar = REF["calendar"]
        self.key = REF["key"]
        self.key_id = REF["key_id"]
        self.history_model = Dossier.history.model
        self.label = self.history_model._meta.label_lower
        self.dossier_rows, self.history_rows, self.event_rows = [], [], []
        self.due_cache = REF.setdefault("due_cache", {})
        self.counts: dict = {}

    # times

    def clock(self, received: int, procedure) -> tuple[int, int]:
        """(clock start, legal due date) with the calendar's own rules (cached per day)."""
        start = self.calendar.clock_start(self.stamps.get(received)[3])
        value, unit = procedure["value"], procedure["unit"]
        key = (start if unit == "working_hours" else start.date(), value, unit)
        due = self.due_cache.get(key)
        if due is None:
            due = int(self.calendar.due_at(start, value, unit).timestamp())
            self.due_cache[key] = due
        return int(start.timestamp()), due

    def moments(self, start: int, end: int, count: int) -> list[int]:
        """`count` increasing office-time instants between start and end."""
        rng = self.rng
        span = max(end - start, count * 120)
        cuts = sorted(rng.uniform(0.05, 0.95) for _i in range(count))
        out, previous = [], start
        for cut in cuts:
            moment = self.office.snap(start + int(span * cut), rng)
            moment = max(moment, previous + rng.randint(60, 900))
            out.append(moment)
            previous = moment
        return out

    # rows

    def build(self, dossier_id: int, item: tuple, code_number: int | None) -> None:
        commune, target, channel, proc_index, created, submitted, received, account = item
        rng = self.rng
        procedure = REF["procedures"][proc_index]
        agency_id, agency_code = REF["communes"][commune]
        staff = REF["staff"][commune]
        now = REF["now"]
        staff_ip = f"10.0.{commune % 250}.{10 + rng.randint(0, 5)}"
        citizen_ip = f"113.{rng.randint(160, 191)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        people = {
            "reception": (*staff["reception"], "reception", agency_id, staff_ip),
            "specialist": (*staff["specialist"], "specialist", agency_id, staff_ip),
            "leader": (*staff["leader"], "leader", agency_id, staff_ip),
        }
        if channel == ONLINE:
            if account < 0:
                account = rng.randrange(len(REF["accounts"]))
            user_id, applicant = REF["accounts"][account]
            people["citizen"] = (user_id, applicant["full_name"], "citizen", None, citizen_ip)
            applicant = {**applicant}
        else:
            user_id = None
            applicant = person(rng, None, REF["today"])
            people["citizen"] = people["reception"]  # walk-ins: reception acts for them
        answers = {f.key: _sample_answer(f, applicant, rng) for f in procedure["fields"]}
        code = f"{agency_code}-{_yymmdd(submitted)}-{code_number:04d}" if submitted else None
        state = {
            "id": dossier_id,
            "code": None,
            "applicant": {},
            "form_data": answers,
            "channel": channel,
            "status": "draft",
            "created_at": created,
            "submitted_at": None,
            "received_at": None,
            "clock_started_at": None,
            "due_at": None,
            "original_due_at": None,
            "resolved_at": None,
            "returned_at": None,
            "closed_at": None,
            "outcome": "",
            "result_delivery": "",
            # As the apply and intake forms offer by default: online back online, else counter.
            "requested_delivery": "electronic" if channel == ONLINE else "counter",
            "supplement_return_status": "",
            "requested_documents": [],
            "supplement_requests": 0,
            "rescheduled_at": None,
            "lookup_key": "".join(rng.choices("ABCDEFGHJKMNPQRSTUVWXYZ23456789", k=10)),
            "rating": "",
            # Issue 14's columns: filed with a password account, not through assisted filing.
            "eid_acr": "",
            "assisted_by_id": None,
            "rating_comment": "",
            "rated_at": None,
            "applicant_user_id": user_id,
            "assignee_id": None,
            "competent_agency_id": agency_id,
            "receiving_agency_id": agency_id,
            "procedure_id": procedure["id"],
            "resolution_working_seconds": None,
            "external_ref": "",
            "sent_by_id": None,
        }
        chain = _Chain(self, dossier_id)
        version = 0
        if channel == ONLINE:
            chain.step(state, "dossier.created", "", "draft", people["citizen"], created, "", {})
            if target == "draft":
                return self._finish(state, chain, 0, applicant)
            state.update(code=code, applicant=applicant, submitted_at=submitted, status="submitted")
            chain.step(
                state,
                "dossier.submitted",
                "draft",
                "submitted",
                people["citizen"],
                submitted,
                "",
                {"code": code, "requested_delivery": state["requested_delivery"]},
            )
            version += 1
            if target == "submitted":
                return self._finish(state, chain, version, applicant)
            if target in ("refused", "withdrawn"):
                reason = rng.choice(REFUSE_REASONS if target == "refused" else WITHDRAW_REASONS)
                who = people["reception"] if target == "refused" else people["citizen"]
                state.update(status=target, closed_at=received)
                chain.step(
                    state,
                    f"dossier.{target}",
                    "submitted",
                    target,
                    who,
                    received,
                    reason,
                    {"reason": reason},
                )
                return self._finish(state, chain, version + 1, applicant)
            start, due = self.clock(received, procedure)
            state.update(
                status="received",
                received_at=received,
                clock_started_at=start,
                original_due_at=due,
                due_at=due,
            )
            chain.step(
                state,
                "dossier.received",
                "submitted",
                "received",
                people["reception"],
                received,
                "",
                self._due_data(state),
            )
            version += 1
        else:
            applicant["email"] = ""
            start, due = self.clock(received, procedure)
            state.update(
                code=code,
                applicant=applicant,
                status="received",
                submitted_at=received,
                received_at=received,
                clock_started_at=start,
                original_due_at=due,
                due_at=due,
            )
            data = {
                "code": code,
                "papers_seen": procedure["papers"][channel],
                "requested_delivery": state["requested_delivery"],
            }
            chain.step(
                state,
                "dossier.intake",
                "",
                "received",
                people["reception"],
                received,
                "",
                {**data, **self._due_data(state)},
            )
        if target == "received":
            return self._finish(state, chain, version, applicant)
        version = self._process(state, chain, version, target, procedure, people, now)
        self._finish(state, chain, version, applicant)

    def _due_data(self, state) -> dict:
        return {
            "clock_started_at": self.stamps.get(state["clock_started_at"])[2],
            "due_at": self.stamps.get(state["due_at"])[2],
        }

    def _process(self, state, chain, version, target, procedure, people, now) -> int:
        rng = self.rng
        received, due = state["received_at"], state["original_due_at"]
        finished = target in ("resolved", "returned", "stopped")
        late = target in ("returned", "stopped") and rng.random() < 0.12
        if target in ("supplement_requested", "awaiting_payment", "pending_approval"):
            horizon = min(now - 3600, max(due, received + 7200))
        elif finished:
            horizon = self.office.add(due, 8 * 3600 * rng.randint(1, 3)) if late else due
            horizon = min(horizon, now - 3600)
        else:
            horizon = now - 1800
        actions = ["assign"]
        if target in ("returned", "resolved", "stopped", "pending_approval") and (
            rng.random() < 0.08
        ):
            actions += ["request_supplement", "supplement"]
        if late and rng.random() < 0.4:
            actions += ["reschedule"]
        if target == "supplement_requested":
            actions += ["request_supplement"]
        elif target == "awaiting_payment":
            actions += ["request_payment"]
        elif target == "stopped":
            actions += ["stop"]
        elif target in ("pending_approval", "resolved", "returned"):
            actions += ["propose"]
            if target != "pending_approval" and rng.random() < 0.05:
                actions += ["send_back", "propose"]
            if target != "pending_approval":
                actions += ["approve"]
            if target == "returned":
                actions += ["return_result"]
        times = self.moments(received, max(horizon, received + 600), len(actions))
        if times[-1] > now - 60:
            # Spread back before now (rare: a very recent reception with many steps).
            times = [now - 60 * (len(times) - i) - 600 for i in range(len(times))]
            times = [max(t, received + 60 * (i + 1)) for i, t in enumerate(times)]
        grant = rng.random() < 0.97
        for action, moment in zip(actions, times, strict=True):
            status = state["status"]
            version += 1
            if action == "assign":
                state.update(status="processing", assignee_id=people["specialist"][0])
                chain.step(
                    state,
                    "dossier.assigned",
                    status,
                    "processing",
                    people["reception"],
                    moment,
                    "",
                    {
                        "assignee": f"specialist-{REF['number_of'][people['specialist'][0]]}",
                        "previous_assignee": None,
                    },
                )
            elif action == "request_supplement":
                doc_id, doc_name = procedure["first_doc"]
                state.update(
                    status="supplement_requested",
                    supplement_return_status=status,
                    requested_documents=[doc_id],
                    supplement_requests=state["supplement_requests"] + 1,
                )
                chain.step(
                    state,
                    "dossier.supplement_requested",
                    status,
                    "supplement_requested",
                    people["specialist"],
                    moment,
                    SUPPLEMENT_REASON,
                    {"documents": [doc_id], "document_names": [doc_name]},
                )
                chain.requested_at = moment
            elif action == "supplement":
                documents = state["requested_documents"]
                paused = self.office.between(chain.requested_at, moment)
                data = {"documents": documents, "paused_working_seconds": paused}
                if procedure["restart"]:
                    start, new_due = self.clock(moment, procedure)
                    state.update(clock_started_at=start, original_due_at=new_due, due_at=new_due)
                    data["clock"] = "restarted"
                else:
                    state.update(
                        original_due_at=self.office.add(state["original_due_at"], paused),
                        due_at=self.office.add(state["due_at"], paused),
                    )
                    data["clock"] = "resumed"
                    chain.paused += paused
                data.update(self._due_data(state))
                state.update(status="processing", requested_documents=[])
                chain.step(
                    state,
                    "dossier.supplemented",
                    status,
                    "processing",
                    people["citizen"],
                    moment,
                    "Đã bổ sung.",
                    data,
                )
            elif action == "reschedule":
                previous = state["due_at"]
                new_due = self._closing_after(times[-1])
                if new_due <= previous:
                    version -= 1
                    continue
                state.update(due_at=new_due, rescheduled_at=moment)
                chain.step(
                    state,
                    "dossier.rescheduled",
                    status,
                    status,
                    people["specialist"],
                    moment,
                    RESCHEDULE_REASON,
                    {
                        "previous_due_at": self.stamps.get(previous)[2],
                        "due_at": self.stamps.get(new_due)[2],
                        "late_working_seconds": self.office.between(previous, new_due),
                    },
                )
            elif action == "request_payment":
                state.update(status="awaiting_payment")
                chain.step(
                    state,
                    "dossier.payment_requested",
                    status,
                    "awaiting_payment",
                    people["specialist"],
                    moment,
                    "",
                    {"amount_vnd": procedure["fee"]},
                )
            elif action == "stop":
                reason = rng.choice(STOP_REASONS)
                state.update(status="stopped", closed_at=moment)
                chain.step(
                    state,
                    "dossier.stopped",
                    status,
                    "stopped",
                    people["leader"],
                    moment,
                    reason,
                    {"reason": reason},
                )
            elif action == "propose":
                outcome = "granted" if grant else "denied"
                note = "Đủ điều kiện giải quyết." if grant else "Không đủ điều kiện giải quyết."
                state.update(status="pending_approval", outcome=outcome)
                chain.step(
                    state,
                    "dossier.proposed",
                    status,
                    "pending_approval",
                    people["specialist"],
                    moment,
                    note,
                    {"outcome": outcome, "result_attachments": []},
                )
            elif action == "send_back":
                previous = state["outcome"]
                state.update(status="processing", outcome="")
                chain.step(
                    state,
                    "dossier.sent_back",
                    status,
                    "processing",
                    people["leader"],
                    moment,
                    SEND_BACK_REASON,
                    {"proposed_outcome": previous},
                )
            elif action == "approve":
                on_time = moment <= state["original_due_at"]
                seconds = max(0, self.office.between(received, moment) - chain.paused)
                state.update(
                    status="resolved", resolved_at=moment, resolution_working_seconds=seconds
                )
                chain.step(
                    state,
                    "dossier.approved",
                    status,
                    "resolved",
                    people["leader"],
                    moment,
                    "",
                    {"outcome": state["outcome"], "on_time": on_time, "working_seconds": seconds},
                )
            elif action == "return_result":
                delivery = "electronic" if state["channel"] == ONLINE else "counter"
                state.update(
                    status="returned",
                    result_delivery=delivery,
                    returned_at=moment,
                    closed_at=moment,
                )
                chain.step(
                    state,
                    "dossier.returned",
                    status,
                    "returned",
                    people["reception"],
                    moment,
                    "",
                    {"delivery": delivery},
                )
        if target == "returned" and state["channel"] == ONLINE and rng.random() < 0.4:
            rating = rng.choices(("very_satisfied", "satisfied", "unsatisfied"), (45, 45, 10))[0]
            returned = state["returned_at"]
            moment = max(returned + 30, min(now - 30, returned + rng.randint(600, 3 * 86400)))
            comment = COMMENTS[rating]
            state.update(rating=rating, rating_comment=comment, rated_at=moment)
            chain.step(
                state,
                "dossier.rated",
                "returned",
                "returned",
                people["citizen"],
                moment,
                comment,
                {"rating": rating},
            )
            version += 1
        return version

    def _closing_after(self, moment: int) -> int:
        day = dt.datetime.fromtimestamp(moment, self.calendar.tz).date()
        return int(self.calendar.closing(self.calendar.working_day_on_or_after(day)).timestamp())

    def _finish(self, state, chain, version, applicant) -> None:
        from dossiers.text import search_key

        stamps = self.stamps
        row = [
            copy_text(state[name])
            if kind != "dt"
            else ("\\N" if state[name] is None else stamps.get(state[name])[0])
            for name, kind in REF["dossier_columns"]
        ]
        extra = [
            str(version),
            str(chain.seq),
            chain.head,
            "",
            copy_text(
                search_key(
                    state["code"] or "",
                    state["applicant"].get("full_name", ""),
                    state["applicant"].get("id_number", ""),
                )
            ),
        ]
        self.dossier_rows.append("\t".join(row + extra))
        self.counts[state["status"]] = self.counts.get(state["status"], 0) + 1


def _yymmdd(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch + VN_OFFSET, dt.UTC).strftime("%y%m%d")


def _sample_answer(field, applicant: dict, rng):
    from dossiers.demo.scenarios import sample_answer

    if field.type == "text" and not field.profile_source and field.key.endswith("_name"):
        return person_name(rng)[0]
    return sample_answer(field, applicant)


class _Chain:
    """One dossier's history rows and events, each chained and sealed as they are written."""

    def __init__(self, builder: Builder, dossier_id: int):
        self.b, self.dossier_id = builder, dossier_id
        self.seq, self.head, self.seal_prev = 0, "", ""
        self.requested_at, self.paused = 0, 0
        self.json_text: dict = {}

    def step(self, state, event_type, from_status, to_status, who, at, note, data) -> None:
        from dossiers.audit import event_content_hash, fingerprint_of
        from dossiers.sealing import ADDED_LATER, history_content_hash, unused_later_column

        b = self.b
        stamps = b.stamps
        self.seq += 1
        seq = self.seq
        history_id = self.dossier_id * SLOTS + seq
        user_id, actor_name, role, agency_id, ip = who
        at_stamp = stamps.get(at)
        load = REF["load_stamp"]
        # The sealed content (sealing.canonical_value's forms) and, further down, the row as the
        # database gives it back (what audit.history_fingerprint hashes).
        canonical = {}
        stored = {}
        added_later = ADDED_LATER.get(b.label, ())
        for name, kind in REF["history_tracked"]:
            value = state[name]
            if name in added_later and unused_later_column(value):
                stored[name] = value  # in the row, not in the seal (sealing.ADDED_LATER)
                continue
            if kind == "dt" and value is not None:
                stamp = stamps.get(value)
                canonical[name], stored[name] = stamp[0], stamp[1]
            else:
                canonical[name] = stored[name] = value
        meta = {
            "history_date": at,
            "history_change_reason": None,
            "history_type": "+" if seq == 1 else "~",
            "history_user_id": user_id,
        }
        canonical.update(meta, history_date=at_stamp[0])
        stored.update(meta, history_date=at_stamp[1])
        seal_hash = history_content_hash(b.label, canonical, seq, self.seal_prev)
        canonical["recorded_at"] = load[0]
        signature = base64.b64encode(b.key.sign(seal_hash.encode("ascii"))).decode("ascii")
        stored.update(
            history_id=history_id,
            seal_seq=seq,
            seal_prev=self.seal_prev,
            seal_hash=seal_hash,
            key_id=b.key_id,
            signature=signature,
            recorded_at=load[1],
        )
        if REF.get("check_next", 0) > 0:
            REF["check_next"] -= 1
            _check_history_row(b.history_model, stored, seal_hash)
        cells = []
        json_text = self.json_text
        for name, kind in REF["history_columns"]:
            if kind == "dt":
                value = canonical[name]
                cells.append("\\N" if value is None else value)
            elif kind == "json":
                # The same applicant and answers in every row: encoded once per dossier.
                value = stored[name]
                known = json_text.get(name)
                if known is None or known[0] is not value:
                    known = json_text[name] = (value, copy_text(value))
                cells.append(known[1])
            else:
                cells.append(copy_text(stored[name]))
        b.history_rows.append("\t".join(cells))
        self.seal_prev = seal_hash
        data = {**data, "history": {"id": history_id, "sha256": fingerprint_of(stored)}}
        content = {
            "dossier": self.dossier_id,
            "seq": seq,
            "event_type": event_type,
            "from_status": from_status,
            "to_status": to_status,
            "actor": user_id,
            "actor_name": actor_name,
            "role": role,
            "agency": agency_id,
            "created_at": at_stamp[0],
            "ip": ip,
            "note": note,
            "data": data,
            "prev_hash": self.head,
        }
        digest = event_content_hash(content)
        signature = base64.b64encode(b.key.sign(digest.encode("ascii"))).decode("ascii")
        b.event_rows.append(
            "\t".join(
                [
                    str(history_id),
                    str(self.dossier_id),
                    str(seq),
                    event_type,
                    from_status,
                    to_status,
                    copy_text(user_id),
                    copy_text(actor_name),
                    role,
                    copy_text(agency_id),
                    at_stamp[0],
                    ip,
                    copy_text(note),
                    copy_text(data),
                    self.head,
                    digest,
                    b.key_id,
                    signature,
                    load[0],
                ]
            )
        )
        self.head = digest


EVENT_COLUMNS = (
    "id", "dossier_id", "seq", "event_type", "from_status", "to_status", "actor_id", "actor_name",
    "role", "agency_id", "created_at", "ip", "note", "data", "prev_hash", "hash", "key_id",
    "signature", "recorded_at",
)  # fmt: skip


def _check_history_row(history_model, stored: dict, seal_hash: str) -> None:
    """The project's own functions on a real history instance agree with the fast path."""
    from dossiers import sealing

    values = {**stored}
    for name in (
        "history_date",
        "recorded_at",
        *[n for n, k in REF["history_tracked"] if k == "dt"],
    ):
        if values.get(name) is not None:
            values[name] = dt.datetime.fromisoformat(values[name])
    row = history_model(**values)
    if sealing.history_row_hash(row) != seal_hash:
        raise AssertionError("the seeded history row's seal hash differs from the project's")


def columns_of(model, skip=()) -> list[tuple[str, str]]:
    from django.db import models

    out = []
    for field in model._meta.concrete_fields:
        if field.attname in skip or isinstance(field, models.GeneratedField):
            continue  # a generated column (Dossier.due_sort) is the database's to write
        if isinstance(field, models.DateTimeField):
            kind = "dt"
        elif isinstance(field, models.JSONField):
            kind = "json"
        else:
            kind = "plain"
        out.append((field.attname, kind))
    return out


# --- loading -------------------------------------------------------------------------------------


def _raw_connection():
    """A psycopg connection of our own (a worker's), in autocommit off."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=db["NAME"],
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
    )


def _copy(cursor, table: str, columns, lines: list[str]) -> None:
    if not lines:
        return
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        # Blocks of lines, so memory stays flat and the server parses while we send.
        for start in range(0, len(lines), 2000):
            copy.write(("\n".join(lines[start : start + 2000]) + "\n").encode())


def build_chunk(task) -> tuple[int, dict]:
    """Build and load dossiers [first, first + len(items)) (a worker's unit of work)."""
    chunk_index, first, items, numbers = task
    builder = Builder(REF["seed"] * 1_000_003 + chunk_index)
    for offset, item in enumerate(items):
        dossier_id = first + offset
        builder.build(dossier_id, item, numbers.get(dossier_id))
    load_rows(builder, REF.get("cursor"))
    return len(items), builder.counts


def load_rows(builder: Builder, cursor=None) -> None:
    own = cursor is None
    if own:
        connection = _raw_connection()
        cursor = connection.cursor()
        # The rows are consistent by construction; skip the per-row foreign-key triggers of
        # this session only (no trigger refuses an INSERT; nothing is disabled for others).
        cursor.execute("SET session_replication_role = replica")
    dossier_columns = [n for n, _k in REF["dossier_columns"]] + [
        "version", "event_seq", "audit_head", "client_token", "search_text",
    ]  # fmt: skip
    _copy(cursor, "dossiers_dossier", dossier_columns, builder.dossier_rows)
    _copy(
        cursor,
        "dossiers_historicaldossier",
        [n for n, _k in REF["history_columns"]],
        builder.history_rows,
    )
    _copy(cursor, "dossiers_dossierevent", EVENT_COLUMNS, builder.event_rows)
    if own:
        connection.commit()
        connection.close()


def load_accounts(cursor, count: int, rng, today: dt.date, user_id_from: int, load) -> list:
    """Citizen accounts (one in about three online dossiers), each with its profile and the
    profile's sealed history row. Returns (user id, applicant snapshot) per account."""
    from citizens.models import CitizenProfile
    from dossiers import sealing

    history_model = CitizenProfile.history.model
    accounts, users, profiles, histories = [], [], [], []
    joined = load[0]
    tracked = [f for f in history_model._meta.concrete_fields]
    for index in range(count):
        user_id = user_id_from + index
        snapshot = person(rng, index, today)
        username = f"congdan{index + 1:07d}"
        snapshot["email"] = f"{username}@example.vn" if rng.random() < 0.7 else ""
        accounts.append((user_id, snapshot))
        unusable = "!" + "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=40))
        users.append(
            "\t".join(
                [
                    str(user_id),
                    unusable,
                    "\\N",
                    "f",
                    username,
                    snapshot["full_name"],
                    "",
                    snapshot["email"],
                    "f",
                    "t",
                    joined,
                ]
            )
        )
        values = dict(
            id=user_id,
            full_name=snapshot["full_name"],
            id_number=snapshot["id_number"],
            date_of_birth=dt.date.fromisoformat(snapshot["date_of_birth"]),
            phone=snapshot["phone"],
            email=snapshot["email"],
            address=snapshot["address"],
            user_id=user_id,
            # A password account: no e-ID has vouched for it.
            eid_issuer="",
            eid_subject="",
            eid_verified_at=None,
        )
        profiles.append(
            "\t".join(
                copy_text(values[n]) if n != "date_of_birth" else snapshot["date_of_birth"]
                for n in values
            )
        )
        row = history_model(
            **values,
            history_id=user_id,
            history_date=load[2],
            history_change_reason=None,
            history_type="+",
            history_user_id=user_id,
            seal_seq=1,
            seal_prev="",
            recorded_at=load[2],
        )
        row.seal_hash = sealing.history_row_hash(row)
        row.key_id, row.signature = sealing.seal(row.seal_hash)
        histories.append(
            "\t".join(
                load[0]
                if f.attname in ("history_date", "recorded_at")
                else snapshot["date_of_birth"]
                if f.attname == "date_of_birth"
                else copy_text(getattr(row, f.attname))
                for f in tracked
            )
        )
    user_columns = (
        "id", "password", "last_login", "is_superuser", "username", "first_name", "last_name",
        "email", "is_staff", "is_active", "date_joined",
    )  # fmt: skip
    _copy(cursor, "auth_user", user_columns, users)
    _copy(cursor, "citizens_citizenprofile", list(values), profiles)
    _copy(
        cursor,
        history_model._meta.db_table,
        [f.column for f in tracked],
        histories,
    )
    return accounts


def secondary_indexes(cursor) -> list[tuple[str, str]]:
    """(name, definition) of the non-unique indexes of the big tables."""
    cursor.execute(
        """
        SELECT i.relname, pg_get_indexdef(x.indexrelid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = ANY(%s) AND NOT x.indisunique AND NOT x.indisprimary
        ORDER BY i.relname
        """,
        [list(TABLES)],
    )
    return cursor.fetchall()


def after_seed(log=log_default) -> None:
    """Refresh what is derived from the loaded rows: the visibility map and planner statistics
    (VACUUM ANALYZE, as autovacuum would in a while: without the visibility map no scan is
    index-only), then the indicator rollups (built from the dossiers, as the first sweep
    would)."""
    from django.db import connection

    from dossiers.indicators import rebuild_rollups

    with connection.cursor() as cursor:
        if connection.in_atomic_block:  # the tests load inside their transaction
            cursor.execute("ANALYZE")
        else:
            cursor.execute("VACUUM (ANALYZE)")
    log("VACUUM ANALYZE done")
    log(f"indicator rollups rebuilt: {rebuild_rollups()} rows")


def seed(
    *,
    dossiers: int,
    communes: int = 100,
    seed: int = 1,
    jobs: int = 2,
    log=log_default,
    anchor: bool = True,
) -> dict:
    """Fill the (migrated, empty) database. jobs=0 loads in this process, inside the caller's
    transaction (the tests); otherwise `jobs` processes load and commit chunk by chunk."""
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from dossiers import anchors, sealing
    from dossiers.models import Dossier, DossierCodeSequence
    from dossiers.worktime import WorkCalendar

    started = time.perf_counter()
    rng = random.Random(seed)  # nosec B311 (benchmark data, not a secret)
    REF.clear()
    with transaction.atomic():
        REF.update(reference_data(communes, rng, log))
    from django.contrib.auth import get_user_model

    REF["number_of"] = {
        staff["specialist"][0]: number for number, staff in enumerate(REF["staff"], start=1)
    }
    calendar = WorkCalendar.current()
    now_moment = timezone.now().replace(microsecond=0)
    now = int(now_moment.timestamp())
    today = now_moment.astimezone(calendar.tz).date()
    office = OfficeTime(
        calendar, today - dt.timedelta(days=DAYS_BACK + 10), today + dt.timedelta(days=400)
    )
    # Stored "now minus the anchor lag": the anchor made at the end covers every loaded row.
    lag = 10 + int(settings.ONESTOP_AUDIT_ANCHOR_LAG_SECONDS)
    load_moment = now_moment - dt.timedelta(seconds=lag)
    load_canon = load_moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    key = sealing.signing_key()
    REF.update(
        seed=seed,
        calendar=calendar,
        office=office,
        now=now,
        today=today,
        key=key,
        key_id=sealing.key_id_of(key.public_key()),
        load_stamp=(load_canon, str(load_moment), load_moment),
        check_next=3,
    )
    history_model = Dossier.history.model
    REF["dossier_columns"] = columns_of(
        Dossier, skip={"version", "event_seq", "audit_head", "client_token", "search_text"}
    )
    history_columns = columns_of(history_model)
    REF["history_columns"] = history_columns
    history_meta = {
        "history_id",
        "history_date",
        "history_change_reason",
        "history_type",
        "history_user_id",
        *sealing.SEAL_COLUMNS,
    }
    REF["history_tracked"] = [(n, k) for n, k in history_columns if n not in history_meta]

    plan, online = make_plan(dossiers, rng, office, now, calendar)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM dossiers_dossier")
        first_id = cursor.fetchone()[0] + 1
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM auth_user")
        first_user = cursor.fetchone()[0] + 1
    commune_index = {pk: i for i, (pk, _code) in enumerate(REF["communes"])}
    epoch_day = dt.date(1970, 1, 1).toordinal()
    taken = {
        (commune_index[agency], day.toordinal() - epoch_day): last
        for agency, day, last in DossierCodeSequence.objects.filter(
            agency__in=list(commune_index)
        ).values_list("agency_id", "day", "last")
    }
    numbers, last_numbers = number_codes(plan, first_id, taken)
    log(f"plan: {dossiers} dossiers ({online} online) in {time.perf_counter() - started:.1f} s")

    account_count = max(1, math.ceil(online / 3))
    connection.ensure_connection()
    raw = connection.connection
    with transaction.atomic(), raw.cursor() as cursor:
        REF["accounts"] = load_accounts(
            cursor, account_count, rng, today, first_user,
            (load_canon, str(load_moment), load_moment),
        )  # fmt: skip
        rows = [
            DossierCodeSequence(
                agency_id=REF["communes"][commune][0],
                day=dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + day),
                last=last,
            )
            for (commune, day), last in last_numbers.items()
        ]
        DossierCodeSequence.objects.bulk_create(
            rows,
            batch_size=5000,
            update_conflicts=True,
            unique_fields=["agency", "day"],
            update_fields=["last"],
        )
    log(f"citizen accounts: {account_count} ({time.perf_counter() - started:.1f} s)")

    big = dossiers >= BIG and jobs > 0
    dropped = []
    if big:
        with connection.cursor() as cursor:
            dropped = secondary_indexes(cursor)
            for name, _definition in dropped:
                cursor.execute(f'DROP INDEX "{name}"')
        log(f"secondary indexes set aside until the end: {len(dropped)}")

    tasks = []
    for index, start in enumerate(range(0, len(plan), CHUNK)):
        items = plan[start : start + CHUNK]
        ids = range(first_id + start, first_id + start + len(items))
        tasks.append((index, first_id + start, items, {i: numbers[i] for i in ids if i in numbers}))
    counts: dict = {}
    done = 0
    last_report = time.perf_counter()
    if jobs == 0:
        with transaction.atomic(), raw.cursor() as cursor:
            REF["cursor"] = cursor
            for task in tasks:
                made, chunk_counts = build_chunk(task)
                done += made
                _merge(counts, chunk_counts)
            REF.pop("cursor")
    else:
        connection.close()  # the workers fork: they must not share this socket
        context = multiprocessing.get_context("fork")
        with context.Pool(jobs) as pool:
            for made, chunk_counts in pool.imap_unordered(build_chunk, tasks):
                done += made
                _merge(counts, chunk_counts)
                if time.perf_counter() - last_report > 10 or done == dossiers:
                    elapsed = time.perf_counter() - started
                    log(f"  {done}/{dossiers} dossiers loaded ({elapsed:.0f} s)")
                    last_report = time.perf_counter()
    loaded_at = time.perf_counter()

    with connection.cursor() as cursor:
        for table, column in (
            ("dossiers_dossier", "id"),
            ("dossiers_historicaldossier", "history_id"),
            ("dossiers_dossierevent", "id"),
            ("auth_user", "id"),
            ("citizens_citizenprofile", "id"),
            ("citizens_historicalcitizenprofile", "history_id"),
        ):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, %s), "  # nosec B608 (own names)
                f"GREATEST((SELECT MAX({column}) FROM {table}), 1))",
                [table, column],
            )
        if dropped:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for _name, definition in dropped:
                cursor.execute(definition)
            rebuilt = time.perf_counter() - loaded_at
            log(f"secondary indexes rebuilt: {len(dropped)} ({rebuilt:.0f} s)")
    made_anchor = None
    if anchor:
        made_anchor = anchors.make_anchor()
        log(f"anchor {made_anchor.seq if made_anchor else '-'} made")
    after_seed(log)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM dossiers_dossierevent")
        events = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*) FROM dossiers_historicaldossier")
        history = cursor.fetchone()[0]
        cursor.execute("SELECT pg_database_size(current_database())")
        size = cursor.fetchone()[0]
    return dict(
        dossiers=done,
        events=events,
        history_rows=history,
        accounts=account_count,
        counts=counts,
        seconds=seconds,
        size=size,
        logins=REF["usernames"],
        anchor=made_anchor,
        users=get_user_model().objects.count(),
    )


def _merge(total: dict, more: dict) -> None:
    for key, value in more.items():
        total[key] = total.get(key, 0) + value


# --- the command line ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=100000)
    parser.add_argument("--communes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
    parser.add_argument("--jobs", type=int, default=2, help="processes building and loading")
    parser.add_argument(
        "--reset", action="store_true", help="wipe a non-empty database (drop schema, migrate)"
    )
    args = parser.parse_args()
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onestop.settings")
    if not os.environ.get("ONESTOP_AUDIT_ANCHOR_FILE"):
        # One anchor file per database: the file is the reference its anchors are checked
        # against, and a second database's anchor 1 would never be appended to a shared one.
        from urllib.parse import urlparse

        name = urlparse(os.environ.get("DATABASE_URL", "")).path.strip("/") or "default"
        os.environ["ONESTOP_AUDIT_ANCHOR_FILE"] = str(ROOT / "var" / f"anchors-{name}.jsonl")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit(
            "bench/seed.py loads with PostgreSQL's COPY: set DATABASE_URL to a PostgreSQL "
            "database (postgres://user@host:5432/name); SQLite is not supported."
        )
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'S'))"
        )
        has_tables = cursor.fetchone()[0]
    if has_tables:
        from django.contrib.auth import get_user_model

        call_command("migrate", verbosity=0)
        from dossiers.models import Agency, Dossier

        busy = (
            Dossier.objects.exists() or get_user_model().objects.exists() or Agency.objects.exists()
        )
        if busy and not args.reset:
            raise SystemExit(
                f"database {settings.DATABASES['default']['NAME']} is not empty: "
                "add --reset to wipe it (drop every table and migrate again)"
            )
        if busy:
            with connection.cursor() as cursor:
                cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            print("database wiped (--reset)", flush=True)
    call_command("migrate", verbosity=0)
    anchor_file = Path(settings.ONESTOP_AUDIT_ANCHOR_FILE or "")
    if settings.ONESTOP_AUDIT_ANCHOR_FILE and anchor_file.exists():
        # The anchors of the database this one replaces.
        anchor_file.rename(anchor_file.with_name(f"{anchor_file.name}.{int(time.time())}.old"))
    print(f"migrated ({time.perf_counter() - began:.0f} s)", flush=True)
    from dossiers import sealing

    print(
        f"audit key {sealing.current_key_id()} "
        f"(ONESTOP_AUDIT_SIGNING_KEY_FILE={settings.ONESTOP_AUDIT_SIGNING_KEY_FILE}); "
        f"anchor file {settings.ONESTOP_AUDIT_ANCHOR_FILE or '(none)'}",
        flush=True,
    )
    result = seed(dossiers=args.dossiers, communes=args.communes, seed=args.seed, jobs=args.jobs)
    total = time.perf_counter() - began
    print(
        f"done: {result['dossiers']} dossiers, {result['events']} events, "
        f"{result['history_rows']} dossier history rows, {result['accounts']} citizen accounts; "
        f"database {result['size'] / 2**30:.2f} GiB; seeding {result['seconds']:.0f} s, "
        f"total {total:.0f} s ({total / 60:.1f} min)",
        flush=True,
    )
    print("statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(result["counts"].items())))
    logins = result["logins"]
    shown = logins if len(logins) <= 12 else [*logins[:6], "…", *logins[-5:]]
    print(
        "logins (password onestop-demo, second factor `make otp`): "
        + ", ".join(shown)
        + f" — reception-N, specialist-N, leader-N for N = 1..{(len(logins) - 2) // 3}"
    )


if __name__ == "__main__":
    main()
