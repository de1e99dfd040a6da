"""Demo data: the Hải Phòng province with three communes, the real commune procedures, the demo
accounts and about 300 dossiers in every status, each walked there through the real services at
past instants (so events, hash chains, history and deadlines are all genuine).

Idempotent: agencies, procedures and accounts are created or updated; the demo certificate
authority and agency certificates (certificates.py) are made once; dossiers are only made when
the demo communes have none yet.
"""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from citizens.models import CitizenProfile
from dossiers import clock, outbox, services
from dossiers.audit import record_digest
from dossiers.demo import catalogue, certificates, scenarios
from dossiers.demo.scenarios import Cast
from dossiers.models import CalendarDay, Channel, Dossier, Membership, Procedure
from dossiers.services import Actor
from dossiers.workflow import CLOCK_RUNNING_STATUSES, Role, Status
from dossiers.worktime import WorkCalendar

User = get_user_model()
# The demo's published password (README) (bandit B105).
PASSWORD = "onestop-demo"  # nosec B105
# Demo staff log in with a second factor like real staff. Their authenticator is enrolled with
# this published key (base32 N5XG K43U N5YC 2ZDF NVXS 25DP ORYC 2MBR), so anyone trying the demo
# can add it to an authenticator app or print the current code with `make otp`. Like the
# password above, it is for the demo only.
DEMO_TOTP_KEY = "6f6e6573746f702d64656d6f2d746f74702d3031"

CITIZENS = {
    "citizen": (
        "Nguyễn Văn An",
        "031090001234",
        "1990-05-17",
        "0912345678",
        "Thôn Đông Tạ, xã Vĩnh Bảo, thành phố Hải Phòng",
    ),
    "citizen2": (
        "Trần Thị Bình",
        "031195004321",
        "1995-11-02",
        "0987654321",
        "Số 12 Hoàng Văn Thụ, phường Hồng Bàng, thành phố Hải Phòng",
    ),
}
# (username, display name, commune index or None for the province, roles)
OFFICIALS = [
    ("reception", "Phạm Thị Thu", 0, [Role.RECEPTION]),
    ("specialist", "Lê Văn Hùng", 0, [Role.SPECIALIST]),
    ("leader", "Vũ Đức Thắng", 0, [Role.LEADER]),
    ("reception2", "Đỗ Thị Hạnh", 1, [Role.RECEPTION]),
    ("specialist2", "Hoàng Minh Tuấn", 1, [Role.SPECIALIST]),
    ("leader2", "Bùi Văn Long", 1, [Role.LEADER]),
    ("officer3", "Ngô Thị Lan", 2, [Role.RECEPTION, Role.SPECIALIST]),
    ("leader3", "Đinh Quang Vinh", 2, [Role.LEADER]),
    ("supervisor", "Trịnh Thu Trang", None, [Role.SUPERVISOR]),
]
CALENDAR = [
    (
        dt.date(2026, 8, 22),
        CalendarDay.Kind.WORKING_DAY,
        "Làm bù cho ngày nghỉ 31/8/2026 (dịp Quốc khánh)",
    ),
]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Dương"]
MIDDLE = ["Văn", "Thị", "Minh", "Đức", "Thu", "Quang", "Ngọc", "Hữu", "Thanh"]
GIVEN = [
    "An",
    "Bình",
    "Cường",
    "Dung",
    "Giang",
    "Hà",
    "Hải",
    "Hương",
    "Khánh",
    "Linh",
    "Mai",
    "Nam",
    "Oanh",
    "Phúc",
    "Quyên",
    "Sơn",
    "Tâm",
    "Uyên",
    "Việt",
    "Yến",
]

# Why a paper handed in at the counter was not scanned (the official writes one).
NO_SCAN_REASONS = [
    "Người nộp chỉ xuất trình bản chính, không để lại bản sao.",
    "Giấy tờ khổ lớn, máy quét tại quầy không quét được.",
    "Bản giấy bị nhòe, cán bộ đã đối chiếu bản chính.",
]
# (a procedure whose result is a paper, a procedure asking for that paper): the demo's reuse.
REUSE_PAIRS = [("1.001193", "1.004884"), ("1.004873", "1.004873")]

# Target statuses and their weights; overlays (late, rated, ...) are drawn per dossier.
STATUS_WEIGHTS = {
    Status.RETURNED: 34,
    Status.RESOLVED: 6,
    Status.PROCESSING: 16,
    Status.RECEIVED: 6,
    Status.SUBMITTED: 7,
    Status.PENDING_APPROVAL: 5,
    Status.SUPPLEMENT_REQUESTED: 6,
    Status.AWAITING_PAYMENT: 2,
    Status.REFUSED: 4,
    Status.WITHDRAWN: 3,
    Status.STOPPED: 2,
    Status.DRAFT: 3,
}
# The demo citizen gets one dossier in each status, so every badge can be seen from one account:
# (status, deadline category for the clock-running ones).
CITIZEN_PLAN = [
    *((status, None) for status in STATUS_WEIGHTS if status != Status.PROCESSING),
    (Status.PROCESSING, "overdue"),
    (Status.PROCESSING, "due_soon"),
    (Status.RETURNED, None),
]


def seed_demo(*, dossiers: int = 300, seed: int = 2026, log=print) -> int:
    """Load the demo agencies, procedures, calendar and accounts; make `dossiers` dossiers when
    the demo communes have none yet. Returns how many dossiers were made."""
    data = catalogue.load()
    province, communes = catalogue.load_agencies(data)
    procedures = catalogue.load_procedures(data)
    for day, kind, reason in CALENDAR:
        CalendarDay.objects.update_or_create(date=day, defaults={"kind": kind, "reason": reason})
    people = _accounts(province, communes)
    certificates.ensure([province, *communes], log=log)
    log(
        f"Agencies: 1 province + {len(communes)} communes; procedures: {len(procedures)}; "
        f"accounts ready (password {PASSWORD}; staff's second factor: `make otp` prints the "
        "current code of the demo authenticator)."
    )
    if Dossier.objects.filter(receiving_agency__in=communes).exists():
        log("Demo dossiers already present; nothing more to do.")
        return 0
    builder = DemoBuilder(
        # Repeatable demo data, not a secret (bandit B311).
        rng=random.Random(seed),  # nosec B311
        communes=communes,
        procedures=procedures,
        people=people,
        now=clock.now(),
    )
    with outbox.muted():
        made = builder.build(dossiers)
    today = clock.now().astimezone(WorkCalendar().tz).date()
    for days_ago in (3, 2, 1):  # the daily digests cron would have stored
        record_digest(today - dt.timedelta(days=days_ago))
    return made


@transaction.atomic
def _accounts(province, communes) -> dict:
    people: dict = {"by_commune": {i: {} for i in range(len(communes))}, "citizens": []}
    admin, created = User.objects.get_or_create(
        username="admin",
        defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.vn"},
    )
    if created:
        admin.set_password(PASSWORD)
        admin.save()
    _demo_authenticator(admin)
    for username, (name, id_number, dob, phone, address) in CITIZENS.items():
        user = _user(username, name, email=f"{username}@example.vn")
        CitizenProfile.objects.update_or_create(
            user=user,
            defaults=dict(
                full_name=name,
                id_number=id_number,
                date_of_birth=dt.date.fromisoformat(dob),
                phone=phone,
                email=f"{username}@example.vn",
                address=address,
            ),
        )
        people[username] = user
    for username, name, commune_index, roles in OFFICIALS:
        user = _user(username, name, email=f"{username}@example.vn")
        agency = province if commune_index is None else communes[commune_index]
        for role in roles:
            Membership.objects.get_or_create(user=user, agency=agency, role=role)
            if commune_index is not None:
                people["by_commune"][commune_index][role] = user
        _demo_authenticator(user)
        people[username] = user
    # Repeatable demo data, not a secret (bandit B311).
    rng = random.Random(7)  # nosec B311
    for number in range(1, 41):
        name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        user, created = User.objects.get_or_create(username=f"congdan{number:02d}")
        if created:
            user.set_unusable_password()  # demo residents, not log-in accounts
            user.save()
        CitizenProfile.objects.get_or_create(
            user=user,
            defaults=dict(
                full_name=name,
                id_number=f"0312{number:08d}",
                phone=f"09{number:08d}",
                address=f"Thôn {rng.randint(1, 9)}, thành phố Hải Phòng",
            ),
        )
        people["citizens"].append(user)
    return people


def _demo_authenticator(user) -> None:
    """The demo staff member's authenticator, enrolled with the published demo key (kept if
    they enrolled one of their own)."""
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        TOTPDevice.objects.create(user=user, name="demo", key=DEMO_TOTP_KEY, confirmed=True)


def _user(username, full_name, email):
    user, created = User.objects.get_or_create(username=username)
    # Vietnamese names are written family name first; get_full_name() joins first + last,
    # so the whole name goes in first_name.
    user.first_name, user.last_name, user.email = full_name, "", email
    if created:
        user.set_password(PASSWORD)
    user.save()
    return user


class DemoBuilder:
    def __init__(self, *, rng, communes, procedures, people, now):
        self.rng, self.communes, self.people, self.now = rng, communes, people, now
        self.procedures = list(procedures)
        self.calendar = WorkCalendar.current()
        self.demo_accounts = (people["citizen"], people["citizen2"])
        self.proposals = 0

    # --- time helpers ---------------------------------------------------------------------

    def _working_instant(self, days_back: int) -> dt.datetime:
        """A morning-to-early-afternoon instant on the working day `days_back` working days ago."""
        day = self.now.astimezone(self.calendar.tz).date()
        for _i in range(days_back):
            day -= dt.timedelta(days=1)
            while not self.calendar.is_working_day(day):
                day -= dt.timedelta(days=1)
        day = self.calendar.working_day_on_or_after(day) if days_back == 0 else day
        minutes = self.rng.randint(30, 420)  # 07:30 .. 14:00
        return self.calendar.opening(day) + dt.timedelta(minutes=minutes)

    def _due(self, procedure: Procedure, received: dt.datetime) -> dt.datetime:
        start = self.calendar.clock_start(received)
        return self.calendar.due_at(start, procedure.time_limit_value, procedure.time_limit_unit)

    def _receive_time(self, procedure: Procedure, category: str) -> dt.datetime | None:
        """A past reception instant putting the dossier in `category` (overdue/due_soon/normal)
        today, or None when this procedure cannot (e.g. a same-day one is never 'normal')."""
        for days_back in range(0, 60):
            received = self._working_instant(days_back)
            if received >= self.now - dt.timedelta(minutes=30):
                continue
            due = self._due(procedure, received)
            if category == "overdue" and due < self.now - dt.timedelta(hours=2):
                return received
            if category == "due_soon" and self.calendar.is_due_soon(due, self.now):
                return received
            if category == "normal" and due > self.calendar.due_soon_threshold(self.now):
                return received
        return None

    def _between(self, start: dt.datetime, end: dt.datetime, count: int) -> list[dt.datetime]:
        """`count` increasing instants of office time strictly between start and end."""
        span = self.calendar.working_seconds_between(start, end)
        cuts = sorted(self.rng.uniform(0.05, 0.95) for _i in range(count))
        return [self.calendar.add_working_seconds(start, span * cut) for cut in cuts]

    # --- building -------------------------------------------------------------------------

    def build(self, total: int) -> int:
        citizen, citizen2 = self.people["citizen"], self.people["citizen2"]
        # The demo accounts' dossiers are all at the first commune, where `reception` works.
        plan = [(citizen, status, category, 0) for status, category in CITIZEN_PLAN]
        plan += [
            (citizen2, status, None, 0)
            for status in (
                Status.SUBMITTED,
                Status.PROCESSING,
                Status.RETURNED,
                Status.SUPPLEMENT_REQUESTED,
            )
        ]
        statuses, weights = zip(*STATUS_WEIGHTS.items(), strict=True)
        while len(plan) < total:
            owner = self.rng.choice(self.people["citizens"])
            status = self.rng.choices(statuses, weights)[0]
            plan.append((owner, status, None, self.rng.choices([0, 1, 2], [6, 3, 2])[0]))
        # Two dossiers per reuse example (the result, then the dossier reusing it).
        pairs = min(6, max(0, (total - 25) // 2))
        for owner, status, category, commune in plan[: total - 2 * pairs]:
            self._one(owner, status, commune, category)
        return min(total - 2 * pairs, len(plan)) + self._reuse_examples(pairs)

    def _reuse_examples(self, count: int) -> int:
        """Citizens who got a result and then file a procedure asking for that paper: the new
        dossier takes it from the documents store instead of an upload. The demo citizen's is
        left waiting for reception (the office page shows "reused from dossier ...")."""
        owners = [self.people["citizen"], *self.people["citizens"][:5]][:count]
        made = 0
        for index, owner in enumerate(owners):
            first, then = REUSE_PAIRS[index % len(REUSE_PAIRS)]
            first, then = Procedure.objects.get(code=first), Procedure.objects.get(code=then)
            cast = self._cast(0, owner)
            start = self._working_instant(12 + index)
            times = self._between(start, start + dt.timedelta(days=2), 7)
            issued = scenarios.make_dossier(
                Status.RETURNED, cast=cast, procedure=first, agency=self.communes[0], times=times
            )
            entry = issued.stored_documents.filter(replaced_by__isnull=True).first()
            filed_at = self._working_instant(3 + index % 3)
            with clock.frozen(filed_at - dt.timedelta(hours=1)):
                dossier = scenarios.new_draft(
                    cast=cast, procedure=then, agency=self.communes[0], with_documents=False
                )
                for document in then.documents.all():
                    if entry and document.document_type_id == entry.document_type_id:
                        services.attachment_reuse_stored(
                            actor=cast.actor("citizen"),
                            dossier=dossier,
                            stored_id=entry.pk,
                            document=document,
                        )
                    elif document.must_be_uploaded(Channel.ONLINE):
                        services.attachment_add(
                            actor=cast.actor("citizen"),
                            dossier=dossier,
                            upload=scenarios.pdf_upload(),
                            document=document,
                        )
                dossier = scenarios.step(Dossier.objects.get(pk=dossier.pk), "submit", cast)
            if index:  # the demo citizen's waits for reception
                with clock.frozen(filed_at):
                    scenarios.step(dossier, "receive", cast)
            made += 2
        return made

    def _cast(self, commune: int, owner) -> Cast:
        staff = self.people["by_commune"][commune]
        return Cast(
            citizen=owner,
            reception=staff[Role.RECEPTION],
            specialist=staff[Role.SPECIALIST],
            leader=staff[Role.LEADER],
        )

    def _one(self, owner, target: str, commune: int, category: str | None = None) -> Dossier:
        rng = self.rng
        agency = self.communes[commune]
        candidates = [p for p in self.procedures if p.accepts(Channel.ONLINE)]
        if target == Status.AWAITING_PAYMENT:
            candidates = [p for p in self.procedures if p.fee_due_later]
        if target not in CLOCK_RUNNING_STATUSES:
            category = "finished"
        elif category is None:
            category = rng.choices(["overdue", "due_soon", "normal"], [30, 20, 50])[0]
        received, procedure = None, None
        for procedure in rng.sample(candidates, len(candidates)):
            if category == "finished" or target in (
                Status.SUPPLEMENT_REQUESTED,
                Status.AWAITING_PAYMENT,
            ):
                received = self._working_instant(rng.randint(3, 110))
                break
            received = self._receive_time(procedure, category)
            if received is not None:
                break
        cast = self._cast(commune, owner)
        # The first dossier that can be a walk-in is one, so that even a small demo shows
        # counter intake (and its digitisation) whatever the draws and the day.
        counter = (
            target not in (Status.DRAFT, Status.SUBMITTED, Status.REFUSED, Status.WITHDRAWN)
            and owner not in (self.people["citizen"], self.people["citizen2"])
            and procedure.accepts(Channel.COUNTER)
            and (rng.random() < 0.35 or not getattr(self, "_walk_in_made", False))
        )
        self._walk_in_made = getattr(self, "_walk_in_made", False) or counter
        if target in (Status.DRAFT, Status.SUBMITTED):
            received = self._working_instant(rng.randint(0, 3))
            received = min(received, self.now - dt.timedelta(minutes=20))
        if counter:
            dossier = self._intake(cast, procedure, agency, owner, received)
        else:
            created = received - dt.timedelta(hours=rng.randint(2, 30))
            with clock.frozen(created):
                dossier = scenarios.new_draft(cast=cast, procedure=procedure, agency=agency)
            if target == Status.DRAFT:
                return dossier
            with clock.frozen(received - dt.timedelta(minutes=rng.randint(20, 90))):
                dossier = scenarios.step(dossier, "submit", cast)
            if target == Status.SUBMITTED:
                return dossier
            if target in (Status.REFUSED, Status.WITHDRAWN):
                with clock.frozen(received):
                    return scenarios.step(
                        dossier, "refuse" if target == Status.REFUSED else "withdraw", cast
                    )
            with clock.frozen(received):
                dossier = scenarios.step(dossier, "receive", cast)
        if target == Status.RECEIVED:
            return dossier
        return self._process(dossier, target, cast, received, walk_in=counter)

    def _intake(self, cast, procedure, agency, owner, received) -> Dossier:
        profile = owner.citizen_profile
        # Some walk-in applicants send their papers by post instead of coming to the counter.
        channel = (
            Channel.POSTAL
            if procedure.accepts(Channel.POSTAL) and self.rng.random() < 0.15
            else Channel.COUNTER
        )
        papers = [d.pk for d in procedure.documents.all() if d.must_be_uploaded(channel)]
        answers = {
            f.key: scenarios.sample_answer(f, profile.snapshot()) for f in procedure.fields.all()
        }
        # Digitised at the counter: most papers scanned, the others with the reason why not.
        # The first walk-in always keeps one paper unscanned, so that the demo shows the case
        # (and its digitisation share is below 100 %) whatever the draws and the day.
        scans, reasons = {}, {}
        first = not getattr(self, "_unscanned_shown", False) and bool(papers)
        self._unscanned_shown = getattr(self, "_unscanned_shown", False) or first
        for index, paper in enumerate(papers):
            if not (first and index == 0) and self.rng.random() < 0.7:
                scans[paper] = scenarios.pdf_upload("ban-chup.pdf")
            else:
                reasons[paper] = self.rng.choice(NO_SCAN_REASONS)
        with clock.frozen(received):
            return services.dossier_intake(
                actor=Actor(user=cast.reception, ip="10.0.0.10"),
                procedure=procedure,
                agency=agency,
                applicant={**profile.snapshot(), "email": ""},
                form_data=answers,
                papers_seen=papers,
                channel=channel,
                scans=scans,
                no_scan_reasons=reasons,
            )

    def _process(self, dossier, target, cast, received, *, walk_in) -> Dossier:
        rng = self.rng
        due = dossier.original_due_at
        finished = target in (Status.RESOLVED, Status.RETURNED, Status.STOPPED)
        late = finished and rng.random() < 0.15
        if target in (Status.SUPPLEMENT_REQUESTED, Status.AWAITING_PAYMENT):
            horizon = min(self.now - dt.timedelta(hours=1), due)
        elif finished:
            horizon = (
                self.calendar.add_working_seconds(due, 8 * 3600 * rng.randint(1, 3))
                if late
                else due
            )
            horizon = min(horizon, self.now - dt.timedelta(hours=1))
        else:
            horizon = self.now - dt.timedelta(minutes=30)
        if walk_in:
            cast = Cast(
                citizen=cast.reception,
                reception=cast.reception,
                specialist=cast.specialist,
                leader=cast.leader,
            )
        actions = ["assign"]
        if (
            finished or target in (Status.STOPPED, Status.PENDING_APPROVAL)
        ) and rng.random() < 0.15:
            actions += ["request_supplement", "supplement"]
            if rng.random() < 0.3:  # asked twice: what the "more than one request" figure counts
                actions += ["request_supplement", "supplement"]
        if target == Status.SUPPLEMENT_REQUESTED:
            actions += ["request_supplement"]
        elif target == Status.AWAITING_PAYMENT:
            actions += ["request_payment"]
        elif target == Status.STOPPED:
            actions += ["stop"]
        elif target in (Status.PENDING_APPROVAL, Status.RESOLVED, Status.RETURNED):
            actions += ["propose"]
            if target != Status.PENDING_APPROVAL and rng.random() < 0.1:
                actions += ["send_back", "propose"]
            if target != Status.PENDING_APPROVAL:
                actions += ["approve"]
            if target == Status.RETURNED:
                actions += ["return_result"]
        times = self._between(
            received, max(horizon, received + dt.timedelta(minutes=len(actions) + 1)), len(actions)
        )
        # One resident's result in three is signed on paper and scanned: not an electronic
        # original (the electronic-result share of Decision 766 is below 100 %).
        paper_result = False
        if "propose" in actions and dossier.applicant_user not in self.demo_accounts:
            self.proposals += 1
            paper_result = self.proposals % 3 == 1
        for action, moment in zip(actions, times, strict=True):
            upload = scenarios.png_upload("ket-qua-ban-chup.png") if paper_result else None
            with clock.frozen(moment):
                dossier = scenarios.step(dossier, action, cast, result_upload=upload)
            if action == "assign" and late and rng.random() < 0.5:
                dossier = self._reschedule(dossier, cast, moment, finish=times[-1])
        if target == Status.RETURNED and dossier.applicant_user_id and rng.random() < 0.6:
            rating = rng.choices(list(Dossier.Rating.values), [50, 40, 10])[0]
            moment = min(
                self.now - dt.timedelta(minutes=5), dossier.returned_at + dt.timedelta(hours=3)
            )
            with clock.frozen(moment):
                dossier = services.dossier_rate(
                    actor=Actor(user=dossier.applicant_user, ip="113.160.0.1"),
                    dossier=dossier,
                    rating=rating,
                    comment="Cán bộ hướng dẫn tận tình."
                    if rating != "unsatisfied"
                    else "Trả kết quả chậm.",
                )
        return dossier

    def _reschedule(self, dossier, cast, assigned_at, *, finish) -> Dossier:
        """A late dossier whose specialist apologised in time, with a new appointment."""
        cal = self.calendar
        apology_at = assigned_at + dt.timedelta(minutes=5)
        if cal.working_seconds_between(apology_at, dossier.due_at) < cal.seconds_per_day:
            return dossier  # too late to apologise under the rules
        new_due = cal.closing(cal.working_day_on_or_after(finish.astimezone(cal.tz).date()))
        if new_due <= dossier.due_at:
            return dossier
        with clock.frozen(apology_at):
            return services.dossier_reschedule(
                actor=Actor(user=cast.specialist, ip="10.0.0.11"),
                dossier=dossier,
                new_due_at=new_due,
                reason="Cần xác minh thêm thông tin tại cơ quan khác.",
            )
