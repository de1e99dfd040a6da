"""Assisted filing (an official at the counter files online on a citizen's behalf) and
online-only procedures (no paper intake: the 2025 directive on essential online services)."""

import pytest

from dossiers import clock, services
from dossiers.demo.scenarios import pdf_upload
from dossiers.errors import ValidationFailed
from dossiers.models import Channel, Dossier, OutgoingEmail, StoredDocument
from dossiers.workflow import EventType, Status

from .conftest import actor

pytestmark = pytest.mark.django_db

ONLINE_ONLY = "chỉ tiếp nhận hồ sơ trực tuyến"


@pytest.fixture
def online_only(procedure):
    procedure.channels = [Channel.ONLINE]
    procedure.save()
    return procedure


@pytest.fixture
def vouched(citizen):
    """`citizen`, whose ID number the e-ID has proved (only such an account is filed into)."""
    profile = citizen.citizen_profile
    profile.eid_issuer, profile.eid_subject = "https://eid.example", "sub-0001"
    profile.eid_verified_at = clock.now()
    profile.save()
    return citizen


def _post_assisted(client, procedure, **extra):
    required = procedure.documents.get(required=True, kind="submit")
    data = {"id_number": "031090001234", "f_purpose": "Kết hôn", "delivery": "electronic"}
    data[f"doc_{required.pk}"] = pdf_upload("to-khai.pdf")
    data.update(extra)
    return client.post(f"/office/assisted/{procedure.code}/", data)


# --- online-only ------------------------------------------------------------------------------


def test_online_only_is_derived_from_the_channels(procedure):
    assert not procedure.online_only
    procedure.channels = [Channel.ONLINE]
    assert procedure.online_only
    procedure.channels = [Channel.ONLINE, Channel.POSTAL]
    assert not procedure.online_only
    procedure.channels = []
    assert not procedure.online_only


@pytest.mark.parametrize("channel", [Channel.COUNTER, Channel.POSTAL])
def test_the_service_refuses_paper_intake_of_an_online_only_procedure(
    reception, online_only, commune, channel
):
    required = online_only.documents.get(required=True, kind="submit")
    with pytest.raises(ValidationFailed) as refused:
        services.dossier_intake(
            actor=actor(reception),
            procedure=online_only,
            agency=commune,
            applicant={"full_name": "Phạm Thị Đào"},
            form_data={"full_name": "Phạm Thị Đào", "purpose": "Kết hôn"},
            papers_seen=[required.pk],
            channel=channel,
        )
    assert ONLINE_ONLY in refused.value.message
    assert "hỗ trợ nộp trực tuyến" in refused.value.message
    assert not Dossier.objects.exists()


def test_the_counter_page_refuses_an_online_only_procedure_and_points_to_assisted_filing(
    client, reception, online_only
):
    client.force_login(reception)
    page = client.get(f"/office/intake/{online_only.code}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert ONLINE_ONLY in text and f"/office/assisted/{online_only.code}/" in text
    assert "Tiếp nhận và cấp giấy hẹn" not in text  # no paper form
    required = online_only.documents.get(required=True, kind="submit")
    posted = client.post(
        f"/office/intake/{online_only.code}/",
        {
            "full_name": "Phạm Thị Đào",
            "channel": 1,
            "f_full_name": "Phạm Thị Đào",
            "f_purpose": "Kết hôn",
            f"seen_{required.pk}": "1",
        },
    )
    assert posted.status_code == 400 and ONLINE_ONLY in posted.content.decode()
    assert not Dossier.objects.exists()


def test_the_api_says_a_procedure_is_online_only(client, citizen, online_only):
    client.force_login(citizen)
    body = client.get(f"/api/v1/procedures/{online_only.code}/").json()
    assert body["online_only"] is True and body["channels"] == [Channel.ONLINE]


# --- assisted filing --------------------------------------------------------------------------


def test_reception_files_online_for_a_citizen_with_an_account(
    client, reception, citizen, vouched, procedure, commune
):
    client.force_login(reception)
    response = _post_assisted(client, procedure, full_name="Tên gõ sai")
    dossier = Dossier.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/office/dossiers/{dossier.pk}/"
    assert dossier.channel == Channel.ONLINE and dossier.status == Status.RECEIVED
    assert dossier.applicant_user == citizen and dossier.assisted_by == reception
    # The account's profile is the applicant: what the official typed is not used.
    assert dossier.applicant["full_name"] == "Nguyễn Văn An"
    assert dossier.form_data["full_name"] == "Nguyễn Văn An"
    # The scan is the paper's one attachment, digitised into the store (reusable later).
    scan = dossier.attachments.get()
    assert scan.original_name == "to-khai.pdf" and scan.paper_original_seen
    assert StoredDocument.objects.get(source_attachment=scan).owner_id_number == "031090001234"
    assert dossier.fee_vnd == procedure.fee_for(Channel.ONLINE)
    event = dossier.events.get(event_type=EventType.INTAKE)
    assert event.data["assisted"] is True and event.data["assisted_by"] == reception.username
    assert event.data["applicant_account"] is True
    # The citizen is told, by the project's e-mail path, who filed it for them.
    email = OutgoingEmail.objects.get(dossier=dossier)
    assert email.to == citizen.email
    assert "nộp trực tuyến thay bạn" in email.body and "Reception" in email.body
    # Shown to officials and in the API; the citizen finds it in their account.
    page = client.get(f"/office/dossiers/{dossier.pk}/").content.decode()
    assert "nộp trực tuyến với hỗ trợ của" in page
    assert client.get(f"/api/v1/dossiers/{dossier.code}/").json()["assisted_by"] == "reception"
    client.force_login(citizen)
    assert client.get(f"/my/dossiers/{dossier.pk}/").status_code == 200


def test_an_account_whose_number_was_only_typed_is_not_filed_into(
    client, reception, citizen, procedure
):
    """Anyone can sign up typing another person's ID number: such an account must not receive
    that person's dossier. The person is recorded from what the official types instead."""
    client.force_login(reception)
    response = _post_assisted(client, procedure)
    assert response.status_code == 400  # no account: the name must be typed
    assert not Dossier.objects.exists()
    response = _post_assisted(client, procedure, full_name="Nguyễn Văn An")
    dossier = Dossier.objects.get()
    assert response.status_code == 302 and dossier.applicant_user is None
    assert dossier.events.get(event_type=EventType.INTAKE).data["applicant_account"] is False
    client.force_login(citizen)
    assert client.get(f"/my/dossiers/{dossier.pk}/").status_code == 404


def test_reception_files_online_for_a_person_without_an_account(
    client, reception, procedure, commune
):
    client.force_login(reception)
    response = _post_assisted(
        client,
        procedure,
        id_number="031185001111",
        full_name="Phạm Thị Đào",
        email="dao@example.vn",
        phone="0901234567",
    )
    assert response.status_code == 302
    dossier = Dossier.objects.get()
    assert dossier.applicant_user is None and dossier.assisted_by == reception
    assert dossier.applicant["full_name"] == "Phạm Thị Đào"
    assert dossier.applicant["id_number"] == "031185001111"
    assert dossier.form_data["full_name"] == "Phạm Thị Đào"
    assert dossier.events.get(event_type=EventType.INTAKE).data["applicant_account"] is False
    assert OutgoingEmail.objects.get(dossier=dossier).to == "dao@example.vn"


def test_an_online_only_procedure_is_filed_by_assisted_filing(
    client, reception, vouched, online_only
):
    client.force_login(reception)
    assert _post_assisted(client, online_only).status_code == 302
    assert Dossier.objects.get().assisted_by == reception


def test_assisted_filing_needs_the_scan_of_every_required_paper(
    client, reception, citizen, procedure
):
    client.force_login(reception)
    required = procedure.documents.get(required=True, kind="submit")
    response = _post_assisted(client, procedure, **{f"doc_{required.pk}": ""})
    assert response.status_code == 400
    assert required.name in response.content.decode()
    assert not Dossier.objects.exists()


def test_a_person_without_an_account_needs_a_name(client, reception, procedure):
    client.force_login(reception)
    response = _post_assisted(client, procedure, id_number="031185001111")
    assert response.status_code == 400
    assert not Dossier.objects.exists()


def test_assisted_filing_is_reception_only(client, specialist, procedure):
    client.force_login(specialist)
    assert client.get(f"/office/assisted/{procedure.code}/").status_code == 403
    assert _post_assisted(client, procedure).status_code == 403
    assert not Dossier.objects.exists()


def test_the_service_refuses_an_account_holder_on_a_paper_channel(
    reception, citizen, procedure, commune
):
    """An account is linked only to an online (assisted) filing."""
    with pytest.raises(ValidationFailed):
        services.dossier_intake(
            actor=actor(reception),
            procedure=procedure,
            agency=commune,
            applicant={"full_name": "Nguyễn Văn An"},
            form_data={"full_name": "Nguyễn Văn An", "purpose": "Kết hôn"},
            papers_seen=[procedure.documents.get(required=True, kind="submit").pk],
            channel=Channel.COUNTER,
            assisted_for=citizen,
        )
    assert not Dossier.objects.exists()


def test_the_citizen_page_says_the_dossier_was_filed_for_them(
    client, reception, citizen, vouched, online_only
):
    client.force_login(reception)
    _post_assisted(client, online_only)
    dossier = Dossier.objects.get()
    client.force_login(citizen)
    assert "nộp trực tuyến thay bạn" in client.get(f"/my/dossiers/{dossier.pk}/").content.decode()
    detail = client.get(f"/procedures/{online_only.code}/").content.decode()
    assert "Chỉ nộp trực tuyến" in detail


def test_assisted_filing_is_not_held_to_the_e_id_requirement(client, reception, vouched, procedure):
    procedure.eid_required = True
    procedure.save()
    client.force_login(reception)
    assert _post_assisted(client, procedure).status_code == 302
    assert Dossier.objects.get().eid_acr == ""
