"""Test factories for the documents store (kho giấy tờ, kết quả điện tử), reusable by other test
modules (and by the lead's end-to-end test): a document type, a procedure that issues it, a
procedure that asks for it, and a citizen who already holds an issued result of that type.

    from .document_store import holder_of_result, procedure_asking_for
    entry = holder_of_result(cast=cast, agency=commune, code="KQ.G15.000038")
    asking, paper = procedure_asking_for(entry.document_type)

`holder_of_result` walks a real dossier to "returned" through the services (approval keeps the
result in the store), so the entry carries the result attachment's own file and SHA-256.
"""

from __future__ import annotations

from dossiers.demo import scenarios
from dossiers.models import (
    DocumentType,
    Procedure,
    ProcedureDocument,
    ProcedureField,
    StoredDocument,
)
from dossiers.workflow import Status

MARRIAGE_STATUS = ("KQ.G15.000038", "Giấy xác nhận tình trạng hôn nhân")


def document_type(code: str = MARRIAGE_STATUS[0], name: str = MARRIAGE_STATUS[1]) -> DocumentType:
    return DocumentType.objects.get_or_create(code=code, defaults={"name": name})[0]


def issuing_procedure(kind: DocumentType, code: str = "9.000001") -> Procedure:
    """A procedure whose (granted) result is a paper of type `kind`: one required paper, one
    optional, and the applicant's name."""
    procedure = Procedure.objects.create(
        code=code,
        name=f"Thủ tục cấp {kind.name}",
        sector="Hộ tịch",
        competent_level="commune",
        time_limit_value=3,
        time_limit_unit="working_days",
        result_document_type=kind,
    )
    ProcedureDocument.objects.create(
        procedure=procedure, name="Tờ khai theo mẫu", required=True, originals=1, order=1
    )
    ProcedureField.objects.create(
        procedure=procedure, key="full_name", label="Họ và tên", profile_source="full_name", order=1
    )
    return procedure


def procedure_asking_for(
    kind: DocumentType, code: str = "9.000002"
) -> tuple[Procedure, ProcedureDocument]:
    """A procedure that asks (required) for a paper of type `kind`, beside its own form."""
    procedure = Procedure.objects.create(
        code=code,
        name="Thủ tục đăng ký kết hôn (thử nghiệm)",
        sector="Hộ tịch",
        competent_level="commune",
        time_limit_value=3,
        time_limit_unit="working_days",
    )
    ProcedureDocument.objects.create(
        procedure=procedure, name="Tờ khai đăng ký", required=True, originals=1, order=1
    )
    paper = ProcedureDocument.objects.create(
        procedure=procedure,
        name=kind.name,
        required=True,
        originals=1,
        order=2,
        document_type=kind,
    )
    ProcedureField.objects.create(
        procedure=procedure, key="full_name", label="Họ và tên", profile_source="full_name", order=1
    )
    return procedure, paper


def holder_of_result(
    *, cast, agency, code: str = MARRIAGE_STATUS[0], name: str = MARRIAGE_STATUS[1], **walk
) -> StoredDocument:
    """`cast.citizen` holds an issued result of document type `code`: a dossier of a procedure
    issuing it, walked to "returned" by the real services. Returns its store entry."""
    kind = document_type(code, name)
    procedure = Procedure.objects.filter(result_document_type=kind).first() or issuing_procedure(
        kind, code=f"8.{kind.pk:06d}"
    )
    dossier = scenarios.make_dossier(
        Status.RETURNED, cast=cast, procedure=procedure, agency=agency, **walk
    )
    return StoredDocument.objects.get(source_dossier=dossier, replaced_by__isnull=True)
