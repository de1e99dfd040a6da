"""Vietnamese is the source language; the English catalogue is complete and compiled."""

import gettext
import re
from pathlib import Path

from django.utils import translation

from dossiers.errors import ChangedMeanwhile
from dossiers.workflow import Action, Status

LOCALE = Path(__file__).resolve().parent.parent / "locale" / "en" / "LC_MESSAGES"


def _po_entries():
    text = (LOCALE / "django.po").read_text(encoding="utf-8")
    for block in text.split("\n\n"):
        msgid = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        if not msgid:
            continue

        def unquote(raw):
            return "".join(re.findall(r'"(.*)"', raw)).replace('\\"', '"').replace("\\\\", "\\")

        context = re.search(r'^msgctxt "(.*)"', block, re.M)
        msgstr = re.search(r"^msgstr(?:\[0\])? ((?:\".*\"\n?)+)", block, re.M)
        yield (
            context.group(1) if context else None,
            unquote(msgid.group(1)),
            unquote(msgstr.group(1)),
        )


def test_every_message_is_translated_and_compiled():
    compiled = gettext.GNUTranslations((LOCALE / "django.mo").open("rb"))
    entries = [entry for entry in _po_entries() if entry[1]]
    assert len(entries) > 250
    for context, msgid, msgstr in entries:
        assert msgstr, f"untranslated: {msgid!r}"
        found = compiled.pgettext(context, msgid) if context else compiled.gettext(msgid)
        assert found == msgstr, f"django.mo is stale for {msgid!r}: run compilemessages"


def test_labels_in_both_languages():
    assert Status.SUPPLEMENT_REQUESTED.label == "Yêu cầu bổ sung"
    with translation.override("en"):
        assert Status.SUPPLEMENT_REQUESTED.label == "Supplement requested"
        assert Action.REQUEST_SUPPLEMENT.label == "Request supplement"
        assert "reload" in str(ChangedMeanwhile().message)
