"""Load a declaration from one YAML file or a folder of them, keeping every value's file and line.

Files in a folder are read in name order and merged section by section: list sections
(``purposes``, ``systems`` …) are concatenated, singleton sections (``organisation``, ``rights``,
``notice``) may appear in one file only. Every error is reported as ``file:line path: message``
where ``path`` is the place inside *that* file (``purposes[3].legal_basis``).

YAML 1.1 quirks that bite privacy declarations are switched off: ``NO`` (Norway) stays a string,
only ``true``/``false`` are booleans, and dates stay strings until the schema parses them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from dataright.declarations import fides
from dataright.declarations.schema import Declaration
from dataright.errors import DeclarationInvalid, DeclarationSyntaxError, Located

PathT = tuple[str | int, ...]
DATASETS_FOLDER = "datasets"  # dataset declarations may also live one file each in this subfolder
SINGLETONS = frozenset({"organisation", "rights", "notice", "cookie_banner"})
SECTIONS = frozenset(Declaration.model_fields)


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2-like scalars: no yes/no/on/off booleans, no implicit timestamps."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass
class SourceMap:
    """Where each value of the merged document came from."""

    lines: dict[str, dict[PathT, int]] = field(default_factory=dict)  # file -> local path -> line
    origin: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)  # (section, i) -> (file, local i)
    singleton_file: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def locate(self, path: PathT) -> tuple[str, int | None, PathT]:
        """The file, line and file-local path of a path in the merged document."""
        if not path or not self.files:
            return (self.files[0] if self.files else "<declaration>", None, path)
        section = str(path[0])
        if len(path) >= 2 and isinstance(path[1], int) and (section, path[1]) in self.origin:
            file, local = self.origin[(section, path[1])]
            local_path: PathT = (section, local, *path[2:])
        elif section in self.singleton_file:
            file, local_path = self.singleton_file[section], path
        else:
            file, local_path = self.files[0], path
        lines = self.lines.get(file, {})
        probe = local_path
        while probe and probe not in lines:
            probe = probe[:-1]
        return file, lines.get(probe) if probe else None, local_path


def format_path(path: PathT) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


@dataclass(frozen=True)
class LoadedDeclaration:
    declaration: Declaration
    source_map: SourceMap
    root: Path

    def where(self, path: PathT) -> tuple[str, int | None]:
        file, line, _ = self.source_map.locate(path)
        return file, line


def declaration_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        if (path / DATASETS_FOLDER).is_dir():
            files += sorted(p for p in (path / DATASETS_FOLDER).iterdir() if p.suffix in (".yaml", ".yml"))
        if not files:
            raise DeclarationSyntaxError([Located(str(path), None, "", "no .yaml files in this folder")])
        return files
    if not path.exists():
        raise DeclarationSyntaxError([Located(str(path), None, "", "no such file or folder")])
    return [path]


def _parse(file: Path, display: str) -> tuple[Any, dict[PathT, int], list[Located]]:
    text = file.read_text(encoding="utf-8")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise DeclarationSyntaxError([Located(display, line, "", f"{exc.problem or exc}")]) from None
    finally:
        loader.dispose()
    lines: dict[PathT, int] = {}
    problems: list[Located] = []
    if node is not None:
        _walk(node, (), lines, problems, display)
    return data, lines, problems


def parse_yaml(file: Path) -> tuple[Any, dict[PathT, int]]:
    """One YAML file (the declaration's dialect: no yes/no booleans) and the line of every path in it.

    Raises ``DeclarationSyntaxError`` naming the line of a parse error or a key given twice.
    """
    display = _display(file)
    if not file.is_file():
        raise DeclarationSyntaxError([Located(display, None, "", "no such file")])
    data, lines, problems = _parse(file, display)
    if problems:
        raise DeclarationSyntaxError(problems)
    return data, lines


def located_errors(file: Path, lines: dict[PathT, int], exc: ValidationError) -> list[Located]:
    """A Pydantic error on a document read by ``parse_yaml``, as ``file:line path: message`` problems."""
    smap = SourceMap(lines={_display(file): lines}, files=[_display(file)])
    return sorted(_located(smap, exc), key=_order)


def _walk(node: yaml.Node, path: PathT, lines: dict[PathT, int], problems: list[Located], file: str) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                problems.append(
                    Located(
                        file,
                        key_node.start_mark.line + 1,
                        format_path((*path, key)),
                        "key appears twice in this mapping",
                    )
                )
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines, problems, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines, problems, file)


def read_documents(path: Path) -> tuple[dict[str, Any], SourceMap]:
    """Parse and merge the YAML files; raise with every structural problem found."""
    merged: dict[str, Any] = {}
    smap = SourceMap()
    problems: list[Located] = []
    for file in declaration_files(path):
        display = _display(file)
        data, lines, dupes = _parse(file, display)
        problems.extend(dupes)
        if fides.is_fides_document(data):
            data, lines = _from_fides(data, lines, display, problems)
        smap.files.append(display)
        smap.lines[display] = lines
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(
                Located(display, 1, "", f"the document must be a mapping of sections ({', '.join(sorted(SECTIONS))})")
            )
            continue
        for section, value in data.items():
            line = lines.get((section,))
            if section not in SECTIONS:
                problems.append(
                    Located(
                        display, line, str(section), f"unknown section; expected one of {', '.join(sorted(SECTIONS))}"
                    )
                )
            elif section in SINGLETONS:
                if section in merged:
                    problems.append(
                        Located(display, line, section, f"already declared in {smap.singleton_file[section]}")
                    )
                    continue
                merged[section] = value
                smap.singleton_file[section] = display
            elif not isinstance(value, list):
                problems.append(Located(display, line, section, "expected a list"))
            else:
                target = merged.setdefault(section, [])
                for local, item in enumerate(value):
                    smap.origin[(section, len(target))] = (display, local)
                    target.append(item)
    if problems:
        raise DeclarationSyntaxError(problems)
    return merged, smap


def _from_fides(
    data: dict[str, Any], lines: dict[PathT, int], display: str, problems: list[Located]
) -> tuple[dict[str, Any], dict[PathT, int]]:
    """A Fides dataset file, read as the ``datasets`` section (problems at the Fides file's own lines)."""
    translation = fides.translate(data, lines)
    problems.extend(_fides_problems(translation, lines, display))
    translated = dict(translation.lines)
    if ("dataset",) in lines:
        translated[("datasets",)] = lines[("dataset",)]
    return {"datasets": translation.datasets}, translated


def _fides_problems(translation: fides.Translation, lines: dict[PathT, int], display: str) -> list[Located]:
    out: list[Located] = []
    for path, message in translation.problems:
        probe = path
        while probe and probe not in lines:
            probe = probe[:-1]
        out.append(Located(display, lines.get(probe) if probe else None, format_path(path), message))
    return out


def read_fides(file: Path) -> fides.Translation:
    """A Fides dataset file translated (for ``datasets import-fides``); every problem raised at its line."""
    if not file.is_file():
        raise DeclarationSyntaxError([Located(str(file), None, "", "no such file")])
    display = _display(file)
    data, lines, problems = _parse(file, display)
    if not fides.is_fides_document(data):
        problems.append(Located(display, 1, "", "not a Fides dataset file (expected dataset: at the top)"))
        raise DeclarationSyntaxError(problems)
    assert isinstance(data, dict)
    translation = fides.translate(data, lines)
    problems.extend(_fides_problems(translation, lines, display))
    if problems:
        raise DeclarationSyntaxError(problems)
    return translation


def load(path: str | Path) -> LoadedDeclaration:
    """Load and validate a declaration; raise ``DeclarationError`` naming every bad place."""
    root = Path(path)
    data, smap = read_documents(root)
    try:
        declaration = Declaration.model_validate(data)
    except ValidationError as exc:
        raise DeclarationInvalid(sorted(_located(smap, exc), key=_order)) from None
    refs = declaration.reference_problems()
    if refs:
        raise DeclarationInvalid(sorted((_at(smap, p, m) for p, m in refs), key=_order))
    return LoadedDeclaration(declaration, smap, root)


def load_declaration(path: str | Path) -> Declaration:
    return load(path).declaration


def _order(loc: Located) -> tuple[str, int]:
    return (loc.file, loc.line or 0)


def _at(smap: SourceMap, path: PathT, message: str) -> Located:
    file, line, local = smap.locate(path)
    return Located(file, line, format_path(local), message)


def _located(smap: SourceMap, exc: ValidationError) -> Iterator[Located]:
    errors = exc.errors(include_url=False)
    for err in errors:
        path: PathT = tuple(p for p in err["loc"] if isinstance(p, int) or not str(p).startswith(("[", "function-")))
        if err["type"] == "too_short" and any(
            len(other["loc"]) > len(err["loc"]) and other["loc"][: len(err["loc"])] == err["loc"] for other in errors
        ):
            continue  # a list "too short" only because one of its items failed: the item's error says why
        yield _at(smap, path, _message(err))


def _message(err: Any) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", ""))
        close = difflib.get_close_matches(str(value), re.findall(r"'([^']*)'", expected), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{value!r} is not one of {expected}{hint}"
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (check the spelling; see `dataright schema`)"
    if kind == "string_pattern_mismatch":
        return f"{value!r} does not match the pattern {ctx.get('pattern')}"
    msg: str = err["msg"]
    return msg


def _display(file: Path) -> str:
    try:
        return str(file.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(file)
