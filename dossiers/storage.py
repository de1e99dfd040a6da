"""Object storage for the stored files (attachments, slips) when onestop runs on several
machines: an S3-compatible bucket instead of MEDIA_ROOT (settings: `ONESTOP_S3_*`,
onestop/scaling.py; docs/scaling.md).

The files are personal data. The bucket stays private: objects are written with the private
ACL, and this storage refuses to make a URL to an object (a pre-signed link would let anyone
holding it read the document, past the permission checks and the access log). Every download
goes through the application's views, which check who may see the file, log the read and
stream it from here with `storage.open()`; the integrity check re-hashes it the same way.
"""

from __future__ import annotations

from storages.backends.s3 import S3Storage


class PrivateS3Storage(S3Storage):
    default_acl = "private"
    # A name already taken gets another (as on disk): a slip rendered twice at once, or a file
    # left by a transaction that rolled back, is never overwritten under a sealed record.
    file_overwrite = False

    def url(self, name, *args, **kwargs):
        raise NotImplementedError(
            "stored documents have no URL: they are served by the application's views only"
        )
