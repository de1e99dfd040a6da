"""Audit signing keys: make a new one, print the public keys (docs/integrity.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from dossiers import sealing


class Command(BaseCommand):
    help = (
        "`generate PATH` writes a new Ed25519 signing key (PEM, mode 600); `public` prints "
        "every trusted public key (PEM), for verifiers and for the keyring of retired keys."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["generate", "public"])
        parser.add_argument("path", nargs="?")

    def handle(self, *args, action, path=None, **options):
        if action == "public":
            self.stdout.write(sealing.public_keys_pem(), ending="")
            return
        if not path:
            raise CommandError("generate needs the path of the new key file")
        if Path(path).exists():
            raise CommandError(f"{path} exists: a key is never overwritten")
        key = sealing.generate_key_file(Path(path))
        self.stdout.write(
            f"New signing key {sealing.key_id_of(key.public_key())} written to {path}. "
            "To rotate: put the current key's public half (audit_keys public) in "
            "ONESTOP_AUDIT_PUBLIC_KEYS_DIR, then point ONESTOP_AUDIT_SIGNING_KEY_FILE here."
        )
