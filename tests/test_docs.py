from pathlib import Path

from dossiers.management.commands.describe_workflow import workflow_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_workflow_doc_matches_the_edge_table():
    assert (DOCS / "workflow.md").read_text(encoding="utf-8") == workflow_markdown(), (
        "docs/workflow.md is stale: run `python manage.py describe_workflow > docs/workflow.md`"
    )
