"""Stored files in an S3-compatible bucket (ONESTOP_S3_*, dossiers/storage.py): a real S3 server
(moto's, started here on 127.0.0.1) holds every document and slip; downloads stream them back
through the permission-checked views, `verify_audit --files` re-hashes them from the bucket,
and nothing is written under MEDIA_ROOT."""

import hashlib
import logging
import uuid

import boto3
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from moto.server import ThreadedMotoServer

from dossiers.demo.scenarios import MINIMAL_PDF, new_draft
from dossiers.models import Dossier, Slip
from dossiers.storage import PrivateS3Storage
from dossiers.workflow import Status
from onestop import scaling

from .worker import run_jobs

PREFIX = "onestop-test/"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


@pytest.fixture(scope="module")
def s3_endpoint():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class Bucket:
    def __init__(self, endpoint: str):
        self.name = f"onestop-{uuid.uuid4().hex[:12]}"
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test-key",
            aws_secret_access_key="test-secret",
        )
        self.client.create_bucket(Bucket=self.name)

    def stored_keys(self) -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=data)


@pytest.fixture
def bucket(s3_endpoint, settings, tmp_path):
    """A fresh bucket as the default storage, configured from the environment variables
    production sets; MEDIA_ROOT points to an empty directory that must stay empty."""
    store = Bucket(s3_endpoint)
    environment = {
        "ONESTOP_S3_BUCKET": store.name,
        "ONESTOP_S3_ENDPOINT_URL": s3_endpoint,
        "ONESTOP_S3_REGION": "us-east-1",
        "ONESTOP_S3_ACCESS_KEY_ID": "test-key",
        "ONESTOP_S3_SECRET_ACCESS_KEY": "test-secret",
        "ONESTOP_S3_PREFIX": PREFIX,
        "ONESTOP_S3_ADDRESSING_STYLE": "path",
    }
    media = tmp_path / "media-stays-empty"
    media.mkdir()
    settings.MEDIA_ROOT = media
    # override_settings resets Django's storage handler and default_storage (setting_changed).
    settings.STORAGES = {**settings.STORAGES, "default": scaling.object_storage(environment)}
    yield store
    assert [p for p in media.rglob("*")] == [], "a file was written under MEDIA_ROOT"


@pytest.fixture
def draft(cast, procedure, commune):
    return new_draft(cast=cast, procedure=procedure, agency=commune, with_documents=False)


def test_the_environment_configures_a_private_bucket():
    assert scaling.object_storage({}) is None  # the local disk, as on one machine
    config = scaling.object_storage(
        {"ONESTOP_S3_BUCKET": "ho-so", "ONESTOP_S3_PREFIX": "/hai-phong/", "ONESTOP_S3_REGION": ""}
    )
    assert config["BACKEND"] == "dossiers.storage.PrivateS3Storage"
    options = config["OPTIONS"]
    assert options["bucket_name"] == "ho-so" and options["location"] == "hai-phong"
    assert options["region_name"] is None and options["access_key"] is None  # boto3's chain
    storage = PrivateS3Storage(**options)
    assert storage.default_acl == "private" and storage.file_overwrite is False
    with pytest.raises(NotImplementedError):
        storage.url("dossiers/1/abc")  # no link to a document, signed or not
    with pytest.raises(ImproperlyConfigured):
        scaling.object_storage({"ONESTOP_S3_BUCKET": "b", "ONESTOP_S3_ADDRESSING_STYLE": "odd"})


def test_an_upload_lands_in_the_bucket_and_downloads_identical(
    bucket, client, citizen, draft, procedure
):
    document = procedure.documents.get(required=True, kind="submit")
    client.force_login(citizen)
    response = client.post(
        f"/my/dossiers/{draft.pk}/edit/",
        {
            "f_full_name": "Nguyễn Văn An",
            "f_purpose": "Kết hôn",
            "intent": "save",
            f"doc_{document.pk}": SimpleUploadedFile("to-khai.pdf", MINIMAL_PDF, "application/pdf"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    attachment = Dossier.objects.get(pk=draft.pk).attachments.get()
    key = PREFIX + attachment.file.name
    assert bucket.stored_keys() == [key]
    assert bucket.get(key) == MINIMAL_PDF
    assert attachment.sha256 == hashlib.sha256(MINIMAL_PDF).hexdigest()
    grants = bucket.client.get_object_acl(Bucket=bucket.name, Key=key)["Grants"]
    assert all(g["Grantee"].get("URI") != ALL_USERS for g in grants)  # not public

    download = client.get(f"/my/dossiers/{draft.pk}/files/{attachment.pk}/")
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="to-khai.pdf"'
    assert int(download["Content-Length"]) == len(MINIMAL_PDF)
    assert b"".join(download.streaming_content) == MINIMAL_PDF

    client.logout()  # the views still check who may read it
    assert client.get(f"/my/dossiers/{draft.pk}/files/{attachment.pk}/").status_code == 302


def test_a_slip_rendered_by_the_worker_lands_in_the_bucket(bucket, client, citizen, make_dossier):
    dossier = make_dossier(Status.RECEIVED)
    run_jobs()  # the worker renders the receipt the action asked for
    slip = Slip.objects.get(dossier=dossier, kind=Slip.Kind.RECEIPT)
    key = PREFIX + slip.file.name
    assert key in bucket.stored_keys()
    stored = bucket.get(key)
    assert stored.startswith(b"%PDF") and hashlib.sha256(stored).hexdigest() == slip.sha256

    client.force_login(citizen)
    response = client.get(f"/my/dossiers/{dossier.pk}/slips/receipt.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == stored


def test_office_download_streams_from_the_bucket(bucket, client, reception, make_dossier):
    dossier = make_dossier(Status.SUBMITTED)
    attachment = dossier.attachments.exclude(file="").first()
    client.force_login(reception)
    response = client.get(f"/office/dossiers/{dossier.pk}/files/{attachment.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == bucket.get(PREFIX + attachment.file.name)


def test_verify_files_rehashes_from_the_bucket(bucket, make_dossier):
    dossier = make_dossier(Status.RECEIVED)
    run_jobs()
    attachment = dossier.attachments.exclude(file="").first()
    slip = Slip.objects.get(dossier=dossier, kind=Slip.Kind.RECEIPT)
    call_command("verify_audit", "--files", "--no-record")  # every object matches its seal

    original = bucket.get(PREFIX + attachment.file.name)
    bucket.put(PREFIX + attachment.file.name, b"%PDF-1.4 another document")
    with pytest.raises(CommandError, match=rf"document #{attachment.pk} .*replaced"):
        call_command("verify_audit", "--files", "--no-record")
    call_command("verify_audit", "--no-record")  # without --files the objects are not read

    bucket.put(PREFIX + attachment.file.name, original)
    bucket.client.delete_object(Bucket=bucket.name, Key=PREFIX + slip.file.name)
    with pytest.raises(CommandError, match=rf"slip #{slip.pk} .*missing"):
        call_command("verify_audit", "--files", "--no-record")
