"""Sign and store the next audit anchor now (the worker does it every few minutes)."""

from django.core.management.base import BaseCommand

from dossiers.anchors import make_anchor


class Command(BaseCommand):
    help = "Sign the next audit anchor over every record stored since the last one."

    def handle(self, *args, **options):
        anchor = make_anchor()
        if anchor is None:
            self.stdout.write("No new window to anchor yet (the last anchor is recent).")
            return
        counts = sum(source["count"] for source in anchor.content.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Anchor {anchor.seq} signed with key {anchor.key_id}: {counts} records stored "
                f"up to {anchor.window_end:%Y-%m-%d %H:%M:%S} UTC."
            )
        )
