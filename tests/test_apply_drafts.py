"""A citizen's application: a refused first submission leaves no stray draft behind, and the
form makes at most one draft per attempt (its token), however often it is sent."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dossiers.demo.scenarios import pdf_upload
from dossiers.models import Dossier
from dossiers.workflow import Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, citizen):
    client.force_login(citizen)
    return client


def apply(client, procedure, commune, **extra):
    data = {"agency": commune.pk, "f_full_name": "Nguyễn Văn An", "client_token": "attempt-1"}
    return client.post(f"/procedures/{procedure.code}/apply/", {**data, **extra})


def required_doc(procedure):
    return procedure.documents.get(required=True, kind="submit")


def test_a_refused_first_submission_leaves_no_draft(signed_in, citizen, procedure, commune):
    response = apply(signed_in, procedure, commune, intent="submit")  # no purpose, no paper
    assert response.status_code == 400
    assert not Dossier.objects.filter(applicant_user=citizen).exists()
    form = response.context["form"]
    assert "f_purpose" in form.errors  # every gap is said, next to its field
    doc = required_doc(procedure)
    (row,) = [r for r in response.context["rows"] if r["document"] == doc]
    assert row["errors"] == ["Giấy tờ bắt buộc: vui lòng tải lên."]
    assert response.context["client_token"] == "attempt-1"  # the same attempt goes on
    assert "Chưa có gì được lưu" in response.content.decode()


def test_a_wrong_file_refuses_the_first_submission_before_any_draft(
    signed_in, citizen, procedure, commune
):
    doc = required_doc(procedure)
    fake = SimpleUploadedFile("to-khai.pdf", b"not a pdf at all", content_type="application/pdf")
    response = apply(
        signed_in,
        procedure,
        commune,
        intent="submit",
        f_purpose="Kết hôn",
        **{f"doc_{doc.pk}": fake},
    )
    assert response.status_code == 400
    assert not Dossier.objects.filter(applicant_user=citizen).exists()
    (row,) = [r for r in response.context["rows"] if r["document"] == doc]
    assert row["errors"]


def test_one_attempt_makes_one_dossier(signed_in, citizen, procedure, commune):
    apply(signed_in, procedure, commune, intent="submit")  # refused: nothing
    apply(signed_in, procedure, commune, intent="save", f_purpose="Kết hôn")  # the draft
    apply(signed_in, procedure, commune, intent="save", f_purpose="Kết hôn")  # sent twice
    assert Dossier.objects.filter(applicant_user=citizen).count() == 1
    doc = required_doc(procedure)
    response = apply(
        signed_in,
        procedure,
        commune,
        intent="submit",
        f_purpose="Kết hôn",
        **{f"doc_{doc.pk}": pdf_upload("to-khai.pdf")},
    )
    (dossier,) = Dossier.objects.filter(applicant_user=citizen)
    assert response.status_code == 302 and dossier.status == Status.SUBMITTED


def test_a_complete_first_submission_still_files_at_once(signed_in, citizen, procedure, commune):
    doc = required_doc(procedure)
    response = apply(
        signed_in,
        procedure,
        commune,
        intent="submit",
        f_purpose="Kết hôn",
        **{f"doc_{doc.pk}": pdf_upload("to-khai.pdf")},
    )
    (dossier,) = Dossier.objects.filter(applicant_user=citizen)
    assert response.status_code == 302 and dossier.status == Status.SUBMITTED
    assert dossier.attachments.get().original_name == "to-khai.pdf"
