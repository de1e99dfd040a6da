"""A dossier's trail reads like a record (people by name and role, statuses and fields in
Vietnamese, the applicant as a table, slips by name, "hệ thống" for automatic steps), in a
bounded number of queries; the integrity page asks no one to run a command."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dossiers import slips
from dossiers.workflow import Status

pytestmark = pytest.mark.django_db


def text_of(response) -> str:
    html = response.content.decode()
    main = html[html.index("<main") :]
    return " ".join(re.sub(r"<[^>]+>", " ", main).split())


def trail(client, dossier):
    response = client.get(f"/supervision/dossiers/{dossier.pk}/")
    assert response.status_code == 200
    return response


def test_the_trail_names_people_roles_statuses_and_slips(client, make_dossier, supervisor):
    dossier = make_dossier(Status.RETURNED)
    slips.slip_for(dossier, "receipt")  # rendered by the worker: an automatic step
    client.force_login(supervisor)
    text = text_of(trail(client, dossier))
    # The assignment names the specialist, not their user id.
    assert "Chuyên viên xử lý — Specialist" in text
    assert "Người thực hiện: Reception — Cán bộ một cửa, UBND xã Vĩnh Bảo" in text
    assert "Người thực hiện: Nguyễn Văn An — Công dân" in text
    assert "Trạng thái: Nháp → Mới đăng ký" in text
    assert "Trạng thái: chưa có → Nháp" in text
    # Statuses in words, never the codes.
    for code in ("draft", "submitted", "pending_approval", "returned", "(reception)"):
        assert code not in text
    assert "Phiếu: Giấy tiếp nhận hồ sơ và hẹn trả kết quả" in text
    assert "In phiếu" in text and "Người thực hiện: hệ thống" in text
    # The applicant's snapshot as a small table, labelled, with the date as dd/mm/yyyy.
    html = trail(client, dossier).content.decode()
    assert '<th scope="row">Số định danh cá nhân</th><td>031090001234</td>' in html
    assert '<th scope="row">Ngày sinh</th><td>17/05/1990</td>' in html
    assert "{&#x27;full_name" not in html
    # Long hashes may wrap: <wbr> every 8 characters inside <code>.
    assert re.search(r"<code>[0-9a-f]{8}<wbr>[0-9a-f]{8}<wbr>", html)


def test_the_trail_costs_the_same_queries_however_long(client, make_dossier, supervisor):
    short, long = make_dossier(Status.RECEIVED), make_dossier(Status.RETURNED)
    client.force_login(supervisor)
    trail(client, short), trail(client, long)  # warm the session and caches
    counts = []
    for dossier in (short, long):
        with CaptureQueriesContext(connection) as queries:
            trail(client, dossier)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_the_integrity_page_asks_for_no_shell_command(client, supervisor):
    client.force_login(supervisor)
    text = text_of(client.get("/supervision/integrity/"))
    assert "manage.py" not in text and "python" not in text
    assert "Kiểm tra ngay" in text  # what the supervisor can do instead
    assert "quản trị viên hệ thống" in text


def test_a_pause_is_said_within_the_step_that_made_it(client, make_dossier, supervisor):
    dossier = make_dossier(Status.SUPPLEMENT_REQUESTED)
    client.force_login(supervisor)
    text = text_of(trail(client, dossier))
    step = text[text.index("Yêu cầu bổ sung — ") :]
    assert "Người thực hiện: Specialist — Chuyên viên xử lý" in step
    assert "Thời hạn giải quyết tạm dừng: Chờ bổ sung hồ sơ" in step
    assert "Trạng thái trở lại sau khi bổ sung — Đang xử lý" in step
    assert "Supplement return status" not in text and "Tạo khoảng tạm dừng" not in text


def test_the_audit_log_names_roles_in_words(client, make_dossier, supervisor):
    make_dossier(Status.RECEIVED)
    client.force_login(supervisor)
    html = client.get("/supervision/audit/").content.decode()
    assert '<div class="help">Cán bộ một cửa · UBND xã Vĩnh Bảo</div>' in html
    assert '<div class="help">reception' not in html
