"""The documents store (kho giấy tờ, kết quả điện tử): a result issued is kept once with its
owner's ID number; the owner's next dossier asking for that paper reuses it (no second upload,
same SHA-256) and the official sees where it came from; no one else can take it; counter intake
scans each paper or says why not; the Decision 766 shares on a small known set."""

import csv
import io
import re

import pytest
from django.core.files.storage import default_storage

from dossiers import clock, indicators, services
from dossiers.demo import scenarios
from dossiers.errors import ValidationFailed
from dossiers.models import Attachment, Dossier, StoredDocument
from dossiers.workflow import Status
from dossiers.worktime import VN_TZ

from .conftest import actor
from .document_store import document_type, holder_of_result, procedure_asking_for
from .helpers import client_of


@pytest.fixture
def held(cast, commune):
    """The citizen holds an issued marriage-status certificate; a procedure asks for it."""
    entry = holder_of_result(cast=cast, agency=commune)
    asking, paper = procedure_asking_for(entry.document_type)
    return entry, asking, paper


def _stored_files() -> int:
    dirs, _files = default_storage.listdir("dossiers")
    return sum(len(default_storage.listdir(f"dossiers/{d}")[1]) for d in dirs)


def test_a_result_is_kept_once_at_approval(cast, commune, citizen, signing_ca):
    signing_ca.install(signing_ca.dir, commune)
    entry = holder_of_result(cast=cast, agency=commune)
    dossier = entry.source_dossier
    result = dossier.attachments.get(purpose=Attachment.Purpose.RESULT)
    assert entry.kind == StoredDocument.Kind.RESULT
    assert entry.owner_id_number == citizen.citizen_profile.id_number
    assert entry.document_type.code == "KQ.G15.000038"
    assert (entry.sha256, entry.file.name, entry.source_attachment) == (
        result.sha256,
        result.file.name,  # the attachment's stored file, not a copy
        result,
    )
    assert entry.number == dossier.code and entry.issuing_agency == dossier.competent_agency
    assert entry.issued_on == dossier.resolved_at.astimezone(VN_TZ).date()
    assert entry.electronic  # a PDF as issued, signed by the agency
    assert result.signatures.get().sha256 == entry.sha256
    approval = dossier.events.get(event_type="dossier.approved")
    assert approval.data["stored_result"] == entry.pk and approval.data["sha256"] == entry.sha256
    assert StoredDocument.objects.filter(source_dossier=dossier).count() == 1
    with pytest.raises(TypeError):  # append-only
        entry.save()
    with pytest.raises(TypeError):
        StoredDocument.objects.filter(pk=entry.pk).update(number="x")


def test_an_unsigned_pdf_result_is_kept_but_not_electronic(cast, commune):
    """An agency without a signing certificate issues its results unsigned: kept and offered,
    but not an electronic result in the Decision 766 sense (no legal value as one)."""
    entry = holder_of_result(cast=cast, agency=commune)
    assert (
        entry.content_type == "application/pdf" and not entry.source_attachment.signatures.exists()
    )
    assert not entry.electronic


def test_a_new_file_of_the_result_replaces_the_entry_once(cast, commune, leader, citizen):
    """How signing connects: the result's final file is recorded once, and is what reuse offers."""
    from dossiers import document_store
    from dossiers.permissions import reusable_documents

    entry = holder_of_result(cast=cast, agency=commune)
    result = entry.source_attachment
    now = clock.now()
    assert document_store.record_result_file(attachment=result, user=leader, now=now) == entry
    # Signing rewrote the result's file (simulated here): its new hash is recorded, once.
    Attachment.objects.filter(pk=result.pk).update(sha256="f" * 64)
    result.refresh_from_db()
    newer = document_store.record_result_file(attachment=result, user=leader, now=now)
    assert newer.replaces == entry and newer.sha256 == "f" * 64
    assert document_store.record_result_file(attachment=result, user=leader, now=now) == newer
    assert list(reusable_documents(citizen)) == [newer]


def test_the_whole_reuse_flow(client, held, citizen, reception, commune):
    entry, asking, paper = held
    form_paper = asking.documents.get(order=1)
    client.force_login(citizen)
    page = client.get(f"/procedures/{asking.code}/apply/").content.decode()
    date = entry.issued_on.strftime("%d/%m/%Y")
    offer = (
        f"Dùng giấy tờ đã có: {entry.title} số {entry.number}, ngày {date}, "
        f"do {entry.issuer_name} cấp"
    )
    assert offer in page
    assert f'name="stored_{paper.pk}" value="{entry.pk}"' in page
    files_before = _stored_files()
    response = client.post(
        f"/procedures/{asking.code}/apply/",
        {
            "client_token": "t-reuse",
            "agency": commune.pk,
            "f_full_name": "Nguyễn Văn An",
            f"doc_{form_paper.pk}": scenarios.pdf_upload("to-khai.pdf"),
            f"stored_{paper.pk}": str(entry.pk),
            "intent": "submit",
        },
    )
    dossier = Dossier.objects.get(procedure=asking)
    assert response.status_code == 302 and dossier.status == Status.SUBMITTED
    reused = dossier.attachments.get(document=paper)
    assert reused.reused_from == entry
    assert (reused.sha256, reused.file.name) == (entry.sha256, entry.file.name)
    assert _stored_files() == files_before + 1  # the form's upload only: no second copy
    # The official sees where it came from, with a link to that dossier (visible to them).
    services.dossier_receive(actor=actor(reception), dossier=dossier)
    client.force_login(reception)
    office = client.get(f"/office/dossiers/{dossier.pk}/").content.decode()
    assert "Dùng lại từ kho giấy tờ, hồ sơ" in office
    assert (
        f'<a href="/office/dossiers/{entry.source_dossier_id}/">{entry.source_dossier.code}</a>'
        in office
    )
    body = client_of(reception).get(f"/api/v1/dossiers/{dossier.code}/").json()
    (from_store,) = [a for a in body["attachments"] if a["reused_from"]]
    assert from_store["reused_from"] == {
        "stored_document": entry.pk,
        "dossier": entry.source_dossier.code,
        "kind": "result",
        "number": entry.number,
        "issued_on": entry.issued_on.isoformat(),
    }
    assert from_store["sha256"] == entry.sha256


def test_another_citizen_cannot_reuse_it(client, held, citizen, citizen2, commune):
    entry, asking, paper = held
    form_paper = asking.documents.get(order=1)
    client.force_login(citizen2)
    page = client.get(f"/procedures/{asking.code}/apply/").content.decode()
    assert "Dùng giấy tờ đã có" not in page
    response = client.post(
        f"/procedures/{asking.code}/apply/",
        {
            "client_token": "t-forged",
            "agency": commune.pk,
            "f_full_name": "Trần Thị Bình",
            f"doc_{form_paper.pk}": scenarios.pdf_upload("to-khai.pdf"),
            f"stored_{paper.pk}": str(entry.pk),  # someone else's, forged into the form
            "intent": "submit",
        },
    )
    assert response.status_code == 400
    assert "Không tìm thấy giấy tờ đã chọn trong kho giấy tờ của bạn." in response.content.decode()
    assert not Attachment.objects.filter(reused_from__isnull=False).exists()
    assert not Dossier.objects.filter(procedure=asking).exists()
    # Saving a draft, then the service itself: a field error, never the document.
    draft = services.dossier_create_draft(
        actor=actor(citizen2), procedure=asking, receiving_agency=commune
    )
    with pytest.raises(ValidationFailed) as refused:
        services.attachment_reuse_stored(
            actor=actor(citizen2), dossier=draft, stored_id=entry.pk, document=paper
        )
    assert "stored" in refused.value.fields
    assert not draft.attachments.exists()
    # Digits that are not ASCII decimals ("²" is a digit to str.isdigit, not to int): refused.
    for odd in ("²", "٣", "1e3"):
        with pytest.raises(ValidationFailed):
            services.attachment_reuse_stored(
                actor=actor(citizen2), dossier=draft, stored_id=odd, document=paper
            )
    client.force_login(citizen)
    response = client.post(
        f"/procedures/{asking.code}/apply/",
        {
            "client_token": "t-odd",
            "agency": commune.pk,
            "f_full_name": "Nguyễn Văn An",
            f"doc_{form_paper.pk}": scenarios.pdf_upload("to-khai.pdf"),
            f"stored_{paper.pk}": "²",
            "intent": "submit",
        },
    )
    assert response.status_code == 400


def test_only_the_papers_of_that_type_and_visible_results_are_offered(held, citizen, make_dossier):
    entry, asking, _paper = held
    from dossiers.permissions import reusable_documents

    assert list(reusable_documents(citizen)) == [entry]
    draft = services.dossier_create_draft(
        actor=actor(citizen),
        procedure=asking,
        receiving_agency=entry.source_dossier.receiving_agency,
    )
    other_paper = asking.documents.get(order=1)  # no document type
    with pytest.raises(ValidationFailed):
        services.attachment_reuse_stored(
            actor=actor(citizen), dossier=draft, stored_id=entry.pk, document=other_paper
        )


def _intake_post(procedure, required, optional, **extra):
    return {
        "full_name": "Phạm Thị Đào",
        "id_number": "031090001234",  # the demo citizen's number: the scan becomes theirs
        "phone": "0901234567",
        "address": "Thôn Nam, xã Vĩnh Bảo",
        "channel": 1,
        "f_purpose": "Kết hôn",
        f"seen_{required.pk}": "1",
        f"seen_{optional.pk}": "1",
        **extra,
    }


def test_counter_intake_scans_each_paper_or_says_why_not(client, reception, citizen, procedure):
    kind = document_type("GT.CU-TRU", "Giấy tờ chứng minh nơi cư trú")
    required, optional = procedure.documents.filter(kind="submit").order_by("order")
    optional.document_type = kind
    optional.save()
    client.force_login(reception)
    url = f"/office/intake/{procedure.code}/"
    # Neither a scan nor a reason: refused, nothing written.
    response = client.post(url, _intake_post(procedure, required, optional))
    assert response.status_code == 400
    assert "tải lên bản chụp hoặc ghi lý do không số hóa" in response.content.decode()
    assert not Dossier.objects.exists() and not Attachment.objects.exists()
    # A date that is not one: said, nothing written.
    response = client.post(
        url,
        _intake_post(
            procedure,
            required,
            optional,
            **{
                f"noscan_{required.pk}": "Người nộp chỉ mang bản chính",
                f"doc_{optional.pk}": scenarios.pdf_upload("cu-tru.pdf"),
                f"scan_date_{optional.pk}": "05/01/2026x",
            },
        ),
    )
    assert response.status_code == 400 and "ngày cấp không hợp lệ" in response.content.decode()
    assert 'value="Người nộp chỉ mang bản chính"' in response.content.decode()
    assert not Dossier.objects.exists()
    # The form paper not scanned, with the reason; the residence paper scanned with its details.
    response = client.post(
        url,
        _intake_post(
            procedure,
            required,
            optional,
            **{
                f"noscan_{required.pk}": "Người nộp chỉ mang bản chính",
                f"doc_{optional.pk}": scenarios.pdf_upload("cu-tru.pdf"),
                f"scan_number_{optional.pk}": "123/XN",
                f"scan_date_{optional.pk}": "2026-01-05",
                f"scan_issuer_{optional.pk}": "Công an xã Vĩnh Bảo",
            },
        ),
    )
    dossier = Dossier.objects.get()
    assert response.status_code == 302
    paper = dossier.attachments.get(document=required)
    assert paper.no_scan_reason == "Người nộp chỉ mang bản chính" and not paper.file
    scan = dossier.attachments.get(document=optional)
    assert scan.paper_original_seen and scan.file and scan.no_scan_reason == ""
    entry = StoredDocument.objects.get(source_attachment=scan)
    assert (entry.kind, entry.owner_id_number, entry.document_type, entry.sha256) == (
        "digitised",
        "031090001234",
        kind,
        scan.sha256,
    )
    assert (entry.number, entry.issuer_name, str(entry.issued_on)) == (
        "123/XN",
        "Công an xã Vĩnh Bảo",
        "2026-01-05",
    )
    page = client.get(f"/office/dossiers/{dossier.pk}/").content.decode()
    assert "Không số hóa: Người nộp chỉ mang bản chính" in page
    # The scan is the owner's to reuse online (matched by the ID number), once the e-ID has
    # proved that number: an account that only typed it at sign-up does not reach it.
    from dossiers.permissions import reusable_documents

    assert list(reusable_documents(citizen)) == []
    profile = citizen.citizen_profile
    profile.eid_issuer, profile.eid_subject = "https://eid.example", "sub-1"
    profile.eid_verified_at = clock.now()
    profile.save()
    citizen.refresh_from_db()
    assert list(reusable_documents(citizen)) == [entry]


# --- the Decision 766 shares on a known set ---------------------------------------------------


@pytest.fixture
def known(cast, commune, procedure, reception, citizen, signing_ca):
    """The commune signs its results. A: online, uploaded, resolved with a PDF result (signed:
    electronic; digitised). B: at the
    counter, one paper scanned and one not, resolved with a scanned (PNG) result. C: online,
    one of its two papers reused from A's result. Papers: A 1, B 2, C 2 (1 reused)."""
    signing_ca.install(signing_ca.dir, commune)
    kind = document_type()
    procedure.result_document_type = kind
    procedure.save()
    a = scenarios.make_dossier(Status.RESOLVED, cast=cast, procedure=procedure, agency=commune)
    required, optional = procedure.documents.filter(kind="submit").order_by("order")
    b = services.dossier_intake(
        actor=actor(reception),
        procedure=procedure,
        agency=commune,
        applicant={"full_name": "Phạm Thị Đào", "id_number": "031185001111"},
        form_data={"full_name": "Phạm Thị Đào", "purpose": "Khác"},
        papers_seen=[required.pk, optional.pk],
        scans={required.pk: scenarios.pdf_upload("scan.pdf")},
        no_scan_reasons={optional.pk: "Khổ giấy lớn"},
    )
    walk_in = scenarios.Cast(
        citizen=reception, reception=reception, specialist=cast.specialist, leader=cast.leader
    )
    for action in ("assign", "propose", "approve"):
        upload = scenarios.png_upload("ket-qua.png") if action == "propose" else None
        b = scenarios.step(b, action, walk_in, result_upload=upload)
    asking, paper = procedure_asking_for(kind)
    entry = StoredDocument.objects.get(source_dossier=a)
    c = scenarios.new_draft(cast=cast, procedure=asking, agency=commune, with_documents=False)
    services.attachment_add(
        actor=actor(citizen),
        dossier=c,
        upload=scenarios.pdf_upload(),
        document=asking.documents.get(order=1),
    )
    services.attachment_reuse_stored(
        actor=actor(citizen), dossier=c, stored_id=entry.pk, document=paper
    )
    c = scenarios.walk(Dossier.objects.get(pk=c.pk), Status.RECEIVED, cast)
    return a, b, c


EXPECTED = {
    "resolved": 2,
    "results_electronic": 1,
    "results_electronic_share": 50.0,
    "received": 3,
    "digitised": 2,
    "digitised_share": 66.7,
    "attachments": 5,
    "attachments_reused": 1,
    "reuse_share": 20.0,
}


def _scope():
    today = clock.now().astimezone(VN_TZ).date()
    return indicators.Scope(today.replace(day=1), today)


def test_the_three_shares_on_known_data(known, supervisor):
    now = clock.now()
    raw = indicators.raw_headline(supervisor, _scope(), now)
    assert {k: raw[k] for k in EXPECTED} == EXPECTED
    a, _b, c = known
    assert set(indicators.drill_down(supervisor, _scope(), "digitised", now)) == {a, c}
    assert set(indicators.drill_down(supervisor, _scope(), "results_electronic", now)) == {a}
    # The rollups give the same, totals and tables.
    indicators.rebuild_rollups()
    figures = indicators.Figures(supervisor, _scope(), now)
    assert figures.rolled_up
    assert figures.headline() == raw
    for by in ("agency", "procedure"):
        assert figures.grouped(by) == indicators.raw_grouped(supervisor, _scope(), now, by)
    by_procedure = {row["key"]: row for row in figures.grouped("procedure")}
    assert by_procedure[c.procedure.code]["reuse_share"] == 50.0


def test_the_shares_follow_actions_at_the_refresh(known, supervisor, cast, commune, procedure):
    indicators.rebuild_rollups()
    a, _b, _c = known
    scenarios.walk(Dossier.objects.get(pk=a.pk), Status.RETURNED, cast)
    another = scenarios.make_dossier(
        Status.RESOLVED, cast=cast, procedure=procedure, agency=commune
    )
    assert StoredDocument.objects.filter(source_dossier=another).exists()
    indicators.refresh_rollups()
    now = clock.now()
    rolled = indicators.Figures(supervisor, _scope(), now).headline()
    assert rolled == indicators.raw_headline(supervisor, _scope(), now)
    assert (rolled["results_electronic"], rolled["resolved"], rolled["attachments"]) == (2, 3, 6)


def test_dashboard_and_export_show_the_shares(client, known, supervisor):
    client.force_login(supervisor)
    scope = _scope()
    query = f"date_from={scope.date_from:%Y-%m-%d}&date_to={scope.date_to:%Y-%m-%d}"
    page = client.get(f"/supervision/?{query}").content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "Tỷ lệ cấp kết quả điện tử (QĐ 766) 50,0 %" in text
    assert "Tỷ lệ số hóa hồ sơ (QĐ 766) 66,7 %" in text
    assert "Tỷ lệ tái sử dụng giấy tờ đã số hóa (QĐ 766) 20,0 % (1/5 giấy tờ)" in text
    response = client.get(f"/supervision/export/indicators.csv?{query}")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    total = dict(zip(rows[0], rows[1], strict=True))
    assert total["Tỷ lệ cấp kết quả điện tử, QĐ 766 (%)"] == "50.0"
    assert total["Tỷ lệ số hóa hồ sơ, QĐ 766 (%)"] == "66.7"
    assert total["Tỷ lệ tái sử dụng giấy tờ đã số hóa, QĐ 766 (%)"] == "20.0"


# --- bounded queries ------------------------------------------------------------------------------


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context)


def _reusing(cast, commune, citizen, asking, paper) -> Dossier:
    """A received dossier taking every stored paper of the citizen's for `paper`."""
    draft = scenarios.new_draft(cast=cast, procedure=asking, agency=commune, with_documents=False)
    services.attachment_add(
        actor=actor(citizen),
        dossier=draft,
        upload=scenarios.pdf_upload(),
        document=asking.documents.get(order=1),
    )
    for stored in StoredDocument.objects.all():
        services.attachment_reuse_stored(
            actor=actor(citizen), dossier=draft, stored_id=stored.pk, document=paper
        )
    return scenarios.walk(Dossier.objects.get(pk=draft.pk), Status.RECEIVED, cast)


def test_apply_form_and_dossier_page_queries_are_bounded(
    client, held, cast, commune, citizen, reception, django_assert_max_num_queries
):
    """The same number of queries with one stored paper as with four, under a fixed bound."""
    _entry, asking, paper = held
    apply = f"/procedures/{asking.code}/apply/"
    client.force_login(citizen)
    one = _queries(client, apply)
    first = _reusing(cast, commune, citizen, asking, paper)
    for _i in range(3):
        holder_of_result(cast=cast, agency=commune)
    client.force_login(citizen)
    with django_assert_max_num_queries(14):
        page = client.get(apply)
    assert page.content.decode().count("Dùng giấy tờ đã có") == 4
    assert _queries(client, apply) == one
    second = _reusing(cast, commune, citizen, asking, paper)
    client.force_login(reception)
    assert _queries(client, f"/office/dossiers/{first.pk}/") == _queries(
        client, f"/office/dossiers/{second.pk}/"
    )
    # 25 on SQLite; PostgreSQL adds the access log's advisory lock.
    with django_assert_max_num_queries(26):
        page = client.get(f"/office/dossiers/{second.pk}/")
    assert page.content.decode().count("Dùng lại từ kho giấy tờ, hồ sơ") == 4


def test_online_filing_through_the_api_reuses_a_stored_document(held, citizen, citizen2, commune):
    entry, asking, paper = held
    api = client_of(citizen)
    (mine,) = api.get("/api/v1/my/documents/").json()
    assert (mine["id"], mine["document_type"], mine["sha256"]) == (
        entry.pk,
        "KQ.G15.000038",
        entry.sha256,
    )
    assert client_of(citizen2).get("/api/v1/my/documents/").json() == []
    draft = api.post(
        "/api/v1/dossiers/",
        {"procedure": asking.code, "agency": commune.code},
        format="json",
    ).json()
    url = f"/api/v1/dossiers/{draft['ref']}/attachments/"
    # Someone else's entry: the error shape, nothing attached.
    other = (
        client_of(citizen2)
        .post(
            "/api/v1/dossiers/",
            {"procedure": asking.code, "agency": commune.code},
            format="json",
        )
        .json()
    )
    refused = client_of(citizen2).post(
        f"/api/v1/dossiers/{other['ref']}/attachments/",
        {"stored_document": entry.pk, "document_type": paper.pk},
        format="multipart",
    )
    assert refused.status_code == 400 and "stored" in refused.json()["error"]["fields"]
    neither = api.post(url, {"document_type": paper.pk}, format="multipart")
    assert neither.status_code == 400
    taken = api.post(
        url, {"stored_document": entry.pk, "document_type": paper.pk}, format="multipart"
    )
    assert taken.status_code == 201, taken.content
    body = taken.json()
    assert body["sha256"] == entry.sha256 and body["reused_from"]["stored_document"] == entry.pk
    assert not Attachment.objects.filter(dossier__applicant_user=citizen2).exists()


def test_the_store_is_sealed_like_the_rest(held, citizen, commune):
    """Every store entry has its sealed history row; the whole trail, files included, verifies
    after results, reuse and a counter scan, and an entry edited behind the application's back
    is reported."""
    from dossiers.verification import verify_everything

    from .conftest import tamper

    entry, asking, paper = held
    draft = services.dossier_create_draft(
        actor=actor(citizen), procedure=asking, receiving_agency=commune
    )
    services.attachment_reuse_stored(
        actor=actor(citizen), dossier=draft, stored_id=entry.pk, document=paper
    )
    assert StoredDocument.history.filter(id=entry.pk).count() == 1
    assert verify_everything(files=True, all_seals=True).problems == []
    tamper(
        "UPDATE dossiers_storeddocument SET owner_id_number = %s WHERE id = %s",
        ["031095004321", entry.pk],
        table="dossiers_storeddocument",
    )
    problems = verify_everything(all_seals=True).problems
    assert any("owner_id_number" in str(p) for p in problems), problems


@pytest.mark.postgres
def test_postgres_refuses_changes_to_the_store(cast, commune):
    from django.db import DatabaseError, connection, transaction

    entry = holder_of_result(cast=cast, agency=commune)
    for sql in (
        "UPDATE dossiers_storeddocument SET number = 'x' WHERE id = %s",
        "DELETE FROM dossiers_storeddocument WHERE id = %s",
        "DELETE FROM dossiers_historicalstoreddocument WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])
