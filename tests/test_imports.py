"""The package's folders import downwards only.

Each module of `spacy_zh_mtl` belongs to one layer; a module may import its
own layer and the layers below it, never one above. The imports are read with
`ast` (nothing is imported), including imports inside functions.
"""
import ast
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

PACKAGE = Path(__file__).resolve().parent.parent / "spacy_zh_mtl"

# lowest first; a module is placed by its first path part under spacy_zh_mtl/
LAYERS: List[Tuple[str, ...]] = [
    ("types", "char_index", "fork_safety", "tokenizer"),
    ("losses",),
    ("models",),
    ("corpora",),
    ("pipeline",),
    ("__init__",),  # the package face: registrations and load_joint
    ("annotate", "annotate_dask"),
    ("prep",),
    ("cli",),
    ("__main__",),
]
LAYER_OF: Dict[str, int] = {part: i for i, parts in enumerate(LAYERS) for part in parts}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imported(path: Path) -> Iterator[Tuple[int, str]]:
    """(line, absolute module) for every import of spacy_zh_mtl in a file."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "spacy_zh_mtl":
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "spacy_zh_mtl":
                continue
            # `from . import x` names submodules
            names = [f"{module}.{a.name}" for a in node.names] if not node.module else [module]
            for name in names:
                yield node.lineno, name


def _layer(module: str) -> Optional[int]:
    parts = module.split(".")[1:]  # drop spacy_zh_mtl
    if not parts:
        return LAYER_OF["__init__"]
    return LAYER_OF.get(parts[0])


def _file_layer(path: Path) -> Optional[int]:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return LAYER_OF.get(parts[0])


def _modules() -> List[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_has_a_layer() -> None:
    unplaced = [str(p.relative_to(PACKAGE)) for p in _modules() if _file_layer(p) is None]
    assert not unplaced, f"add these to LAYERS: {unplaced}"


def test_no_import_runs_back_up() -> None:
    upward = []
    for path in _modules():
        own = _file_layer(path)
        for line, module in _imported(path):
            target = _layer(module)
            assert target is not None, f"{path}:{line}: {module} has no layer"
            if target > own:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}")
    assert not upward, "imports against the layer order:\n" + "\n".join(upward)


def test_the_stated_rules_hold() -> None:
    forbidden = {"pipeline": ("cli", "prep"), "losses": ("pipeline",), "models": ("pipeline",)}
    for folder, targets in forbidden.items():
        for path in (PACKAGE / folder).rglob("*.py"):
            for line, module in _imported(path):
                top = module.split(".")[1] if "." in module else ""
                assert top not in targets, f"{path}:{line} imports {module}"


def test_component_module_does_not_import_torch() -> None:
    path = PACKAGE / "pipeline" / "zh_mtl_ner.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        assert not any(n.split(".")[0] == "torch" for n in names), f"{path}:{node.lineno} imports torch"
