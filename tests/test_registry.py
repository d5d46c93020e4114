"""Every name the package registers resolves from a fresh interpreter through
its entry points alone (no import of spacy_zh_mtl first), and every
`spacy_zh_mtl.*` name in spaCy's registries has an entry point.

Modelled on spacy-curated-transformers' test_registry.py. After editing the
entry points in pyproject.toml, reinstall: `pip install -e . --no-deps`.
"""
import json
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
# entry point group -> spaCy registry
GROUPS = {
    "spacy_factories": "factories",
    "spacy_architectures": "architectures",
    "spacy_misc": "misc",
    "spacy_scorers": "scorers",
    "spacy_optimizers": "optimizers",
    "spacy_callbacks": "callbacks",
    "spacy_readers": "readers",
    "spacy_loggers": "loggers",
}


def declared_entry_points():
    """(group, name, target) of pyproject.toml's spaCy entry points."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        tomllib = pytest.importorskip("tomli")
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf8"))
    groups = data["project"]["entry-points"]
    return sorted(
        (group, name, target)
        for group, names in groups.items() if group in GROUPS
        for name, target in names.items()
    )


def test_installed_entry_points_match_pyproject():
    installed = sorted(
        (ep.group, ep.name, ep.value)
        for ep in distribution("spacy-zh-mtl").entry_points if ep.group in GROUPS
    )
    assert installed == declared_entry_points(), "reinstall: pip install -e . --no-deps"


RESOLVE = """
import json, sys
from spacy.util import registry
names = json.loads(sys.argv[1])
assert "spacy_zh_mtl" not in sys.modules
failed = []
for reg_name, name in names:
    try:
        func = registry.get(reg_name, name)
        assert callable(func), name
    except Exception as err:
        failed.append(f"{reg_name} {name}: {type(err).__name__}: {err}")
import spacy_zh_mtl, pkgutil, importlib
for mod in pkgutil.walk_packages(spacy_zh_mtl.__path__, "spacy_zh_mtl."):
    if not mod.name.startswith("spacy_zh_mtl.cli"):
        importlib.import_module(mod.name)
import catalogue
# functions registered by decorators (catalogue.REGISTRY), not through entry points
ours = sorted(
    [reg, name] for reg in %r
    for name in (key[-1] for key in catalogue._get_all(("spacy", reg)))
    if name.startswith("spacy_zh_mtl.")
)
print(json.dumps({"failed": failed, "registered": ours}))
"""


def test_every_registered_name_resolves_in_a_fresh_interpreter():
    names = [[GROUPS[group], name] for group, name, _ in declared_entry_points()]
    registries = sorted(set(GROUPS.values()) - {"factories"})
    code = RESOLVE % (registries,)
    result = subprocess.run(
        [sys.executable, "-c", code, json.dumps(names)],
        capture_output=True, text=True, timeout=300, cwd=ROOT.parent,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["failed"] == []
    # every spacy_zh_mtl.* function registered by importing the package has an entry point
    declared = {tuple(n) for n in names}
    missing = [tuple(n) for n in out["registered"] if tuple(n) not in declared]
    assert missing == [], f"registered without an entry point: {missing}"
