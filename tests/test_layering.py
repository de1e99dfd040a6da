"""The layout keeps its promises (docs/architecture.md): the domain imports no HTTP code and no
audience, audiences do not import each other, and no module imports itself round a circle.
Every import counts, the ones inside functions too."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("onestop", "dossiers", "citizens")
AUDIENCES = ("dossiers.office", "dossiers.supervision", "dossiers.api", "citizens")
# What the domain never imports: the audiences, the demo, the project's web layer, HTTP and
# page machinery.
NOT_FOR_THE_DOMAIN = (
    *AUDIENCES,
    "dossiers.demo",
    "onestop",
    "django.http",
    "django.forms",
    "django.shortcuts",
    "django.views",
    "django.urls",
    "django.contrib.messages",
    "rest_framework",
    "drf_spectacular",
)
# Not the domain, though inside dossiers/: Django's own hooks into the app, and the commands,
# which are the command line's front end (seed_demo calls the demo).
DOMAIN_EXCEPTIONS = (
    "dossiers.admin",
    "dossiers.templatetags",
    "dossiers.migrations",
    "dossiers.management",
)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module `name` imports, resolved to absolute names (relative imports included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module
            found.add(target)
            # `from . import x` and `from .models import Dossier`: x may be a module itself.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _project_imports(name: str) -> set[str]:
    return {i for i in _imports(name, MODULES[name]) if i in MODULES and i != name}


def _is_in(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _domain_modules():
    return [
        name
        for name in MODULES
        if _is_in(name, ("dossiers",))
        and not _is_in(name, (*AUDIENCES, "dossiers.demo", *DOMAIN_EXCEPTIONS))
    ]


def test_the_domain_imports_no_audience_and_no_http():
    offences = [
        f"{name} imports {target}"
        for name in _domain_modules()
        for target in _imports(name, MODULES[name])
        if _is_in(target, NOT_FOR_THE_DOMAIN)
    ]
    assert len(_domain_modules()) > 30
    assert offences == []


def test_audiences_do_not_import_each_other():
    offences = []
    for audience in AUDIENCES:
        others = [a for a in AUDIENCES if a != audience]
        for name in MODULES:
            if not _is_in(name, (audience,)):
                continue
            offences += [
                f"{name} imports {target}"
                for target in _imports(name, MODULES[name])
                if _is_in(target, others)
            ]
    assert offences == []


def test_no_import_circles():
    graph = {name: _project_imports(name) for name in MODULES}
    # A package's __init__ re-exporting its own modules is not a circle of the code.
    for name in graph:
        graph[name] = {t for t in graph[name] if not (t.startswith(name + ".") and name)}
    circles, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                circles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []


def test_the_checker_sees_an_offence(tmp_path):
    """The checks above read real imports: a domain module naming an audience is caught."""
    probe = tmp_path / "probe.py"
    probe.write_text("from .office import views\nfrom django.http import HttpResponse\n")
    found = _imports("dossiers.probe", probe)
    assert {"dossiers.office", "dossiers.office.views", "django.http"} <= found
    assert _is_in("dossiers.office.views", NOT_FOR_THE_DOMAIN)
