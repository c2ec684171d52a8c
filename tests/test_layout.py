"""The code's shape, as the project promises it: the library free of web code, no import cycles,
one place for each setting, a short entry point and a README for users."""

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("nst", "web")


def _modules() -> dict[str, Path]:
    return {
        ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"): path
        for package in PACKAGES
        for path in sorted((REPO / package).glob("*.py"))
    }


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_the_library_imports_no_web_framework() -> None:
    for name, path in _modules().items():
        if name.startswith("nst"):
            web = {i for i in _imports(path) if i.split(".")[0] in ("gradio", "starlette", "web")}
            assert not web, f"{name} imports {web}"
            assert "scope[" not in path.read_text(), f"{name} looks like ASGI middleware"


def test_no_import_cycles_among_the_modules() -> None:
    modules = _modules()
    graph = {
        name: {i for i in _imports(path) if i in modules} - {name} for name, path in modules.items()
    }
    visiting, done = [], set()

    def visit(name: str) -> None:
        if name in done:
            return
        assert name not in visiting, f"import cycle: {' -> '.join([*visiting, name])}"
        visiting.append(name)
        for imported in sorted(graph[name]):
            visit(imported)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_tensorflows_log_level_is_set_in_one_place() -> None:
    setting = re.compile(r"environ(\.setdefault\(|\[)[\"']TF_CPP_MIN_LOG_LEVEL")
    files = [p for p in REPO.rglob("*.py") if not {".venv", "test-output"} & set(p.parts)]
    assert [p.relative_to(REPO).as_posix() for p in files if setting.search(p.read_text())] == [
        "nst/__init__.py"
    ]


def test_the_entry_point_only_builds_and_serves() -> None:
    assert len((REPO / "app.py").read_text().splitlines()) <= 40


def test_the_readme_is_for_users_and_the_measurements_name_their_machine() -> None:
    assert len((REPO / "README.md").read_text().splitlines()) <= 250
    assert (REPO / "docs" / "design.md").is_file()
    measurements = (REPO / "docs" / "measurements.md").read_text()
    sections = re.findall(r"^## .+$", measurements, re.M)
    stamps = re.findall(r"^Machine: .+ · commit [0-9a-f]{7,}\+? · ", measurements, re.M)
    assert sections and len(stamps) == len(sections), "every section names its CPU and commit"
