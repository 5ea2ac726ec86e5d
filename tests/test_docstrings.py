"""Every public name has a docstring, and the stubs say what the runtime says.

IDEs show the ``.pyi`` docstring on hover and ``help()`` shows the runtime one: for every public
class, function, method and property declared in ``giosocket/_giosocket.pyi`` both must exist and
their first lines must be equal (the stub carries at least the runtime's first paragraph). Public
names of the pure-Python modules need a runtime docstring (they are their own stubs).

To fill in missing stub docstrings, or refresh ones whose first line drifted, from the installed
build: ``python tests/test_docstrings.py --write`` (then ``ruff format python``).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

PACKAGE = pathlib.Path(importlib.import_module("giosocket").__file__ or "").parent
STUB = PACKAGE / "_giosocket.pyi"
PYTHON_MODULES = [
    "giosocket",
    "giosocket._enums",
    "giosocket._errors",
    "giosocket.aio",
    "giosocket.connection",
    "giosocket.__main__",
]


@dataclass
class StubEntry:
    """One documented thing of the stub: its dotted name, AST node and the runtime object."""

    name: str
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    runtime: object
    found: bool


def _public(name: str, in_all: set[str]) -> bool:
    return not name.startswith("_") or name in in_all


def _is_setter(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(
        isinstance(d, ast.Attribute) and d.attr in ("setter", "deleter")
        for d in node.decorator_list
    )


def stub_entries(tree: ast.Module | None = None) -> Iterator[StubEntry]:
    """The public classes, functions, methods and property getters of the stub."""
    tree = tree or ast.parse(STUB.read_text(encoding="utf-8"))
    native = importlib.import_module("giosocket._giosocket")
    in_all = set(getattr(native, "__all__", []))

    def walk(body: list[ast.stmt], owner: object, prefix: str) -> Iterator[StubEntry]:
        for node in body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if not _public(node.name, in_all if not prefix else set()):
                continue
            if not isinstance(node, ast.ClassDef) and _is_setter(node):
                continue
            found = hasattr(owner, node.name)
            runtime = getattr(owner, node.name, None)
            yield StubEntry(prefix + node.name, node, runtime, found)
            if isinstance(node, ast.ClassDef) and found:
                yield from walk(node.body, runtime, prefix + node.name + ".")

    yield from walk(tree.body, native, "")


def first_paragraph(doc: str | None) -> str:
    """The first paragraph of a docstring, dedented ("" when there is none)."""
    if not doc or not doc.strip():
        return ""
    return inspect.cleandoc(doc).split("\n\n", 1)[0].strip()


def first_line(doc: str | None) -> str:
    return first_paragraph(doc).split("\n", 1)[0].strip()


def runtime_doc(obj: object) -> str | None:
    """The object's own docstring (not one inherited from a base class or ``object``)."""
    doc = getattr(obj, "__doc__", None)
    if isinstance(obj, type):
        doc = obj.__dict__.get("__doc__")
    return doc if isinstance(doc, str) else None


def problems() -> list[str]:
    """Every missing docstring and every stub/runtime first-line mismatch."""
    found = []
    for e in stub_entries():
        if not e.found:
            continue  # stubtest reports names the runtime lacks
        stub = first_line(ast.get_docstring(e.node))
        rt = first_line(runtime_doc(e.runtime))
        if not rt:
            found.append(f"{e.name}: no runtime docstring")
        if not stub:
            found.append(f"{e.name}: no docstring in _giosocket.pyi")
        elif rt and stub != rt:
            found.append(f"{e.name}: stub says {stub!r}, runtime says {rt!r}")
    return found


def python_problems() -> list[str]:
    """Public names defined in the pure-Python modules that lack a docstring."""
    found = []
    for modname in PYTHON_MODULES:
        mod = importlib.import_module(modname)
        if not runtime_doc(mod):
            found.append(f"{modname}: no module docstring")
        names = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
        for name in names:
            obj = getattr(mod, name)
            if getattr(obj, "__module__", None) != modname or not callable(obj):
                continue
            if not runtime_doc(obj):
                found.append(f"{modname}.{name}: no docstring")
            if isinstance(obj, type):
                for attr, member in vars(obj).items():
                    if attr.startswith("_"):
                        continue
                    if isinstance(member, (staticmethod, classmethod)):
                        member = member.__func__
                    if (inspect.isfunction(member) or isinstance(member, property)) and not (
                        runtime_doc(member)
                    ):
                        found.append(f"{modname}.{name}.{attr}: no docstring")
    return found


def test_stub_docstrings_match_the_runtime() -> None:
    found = problems()
    assert not found, "\n".join(found) + "\n(fix: python tests/test_docstrings.py --write)"


def test_python_modules_document_every_public_name() -> None:
    found = python_problems()
    assert not found, "\n".join(found)


def test_the_check_sees_a_missing_and_a_drifted_docstring(tmp_path: pathlib.Path) -> None:
    """The checker itself: a stub without a docstring, and one that disagrees, are found."""
    tree = ast.parse(
        "class Cancellable:\n"
        '    """Something else entirely."""\n'
        "    def cancel(self) -> None: ...\n"
    )
    entries = {e.name: e for e in stub_entries(tree)}
    assert set(entries) == {"Cancellable", "Cancellable.cancel"}
    cls = entries["Cancellable"]
    assert first_line(ast.get_docstring(cls.node)) != first_line(runtime_doc(cls.runtime))
    assert first_line(ast.get_docstring(entries["Cancellable.cancel"].node)) == ""
    assert first_line(runtime_doc(entries["Cancellable.cancel"].runtime)) != ""


# --------------------------------------------------------------------------------------
# python tests/test_docstrings.py --write: fill the stub from the runtime


def _docstring_literal(text: str, indent: str) -> str:
    body = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = body.split("\n")
    if len(lines) == 1:
        return f'{indent}"""{body}"""'
    rest = "\n".join(f"{indent}{line}" if line else "" for line in lines[1:])
    return f'{indent}"""{lines[0]}\n{rest}\n{indent}"""'


def write_stub() -> int:
    """Insert or refresh stub docstrings from the runtime; returns how many changed."""
    source = STUB.read_text(encoding="utf-8")
    lines = source.split("\n")
    edits: list[tuple[int, int, list[str]]] = []  # (first line, last line, replacement)
    for e in stub_entries():
        if not e.found:
            continue
        want = first_paragraph(runtime_doc(e.runtime))
        have = ast.get_docstring(e.node)
        if not want or (have and first_line(have) == first_line(want)):
            continue
        indent = " " * (e.node.col_offset + 4)
        literal = _docstring_literal(want, indent).split("\n")
        body0 = e.node.body[0]
        if have is not None:  # replace the drifted docstring
            edits.append((body0.lineno - 1, (body0.end_lineno or body0.lineno) - 1, literal))
        else:  # `def f(...) -> T: ...` -> `def f(...) -> T:` + docstring
            last = (e.node.end_lineno or e.node.lineno) - 1
            code, hash_, comment = lines[last].partition("  #")
            if not code.rstrip().endswith(": ..."):
                raise SystemExit(f"{e.name}: cannot place a docstring in {lines[last]!r}")
            head = code.rstrip()[: -len(" ...")] + (f"  #{comment}" if hash_ else "")
            edits.append((last, last, [head, *literal]))
    for start, end, replacement in sorted(edits, reverse=True):
        lines[start : end + 1] = replacement
    STUB.write_text("\n".join(lines), encoding="utf-8")
    return len(edits)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        print(f"{write_stub()} docstrings written to {STUB}")
        sys.exit(0)
    sys.exit(pytest.main([__file__, "-q"]))
