"""Placing project assets from a local mirror, matched by checksum.

`spacy project assets` skips an asset whose `dest` already holds a file with
the asset's md5 checksum. `place_assets` fills the `dest` paths from any local
directory that holds the same files (any layout, any names): it indexes the
mirror's files by md5 and copies each match, so a machine without network can
run the project from a copy of the corpora.
"""
import hashlib
import shutil
from pathlib import Path
from typing import Dict, List, Tuple, Union

import srsly


def md5_file(path: Union[str, Path]) -> str:
    """md5 hex digest of a file (weasel's asset checksum)."""
    digest = hashlib.md5()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def index_mirror(mirror: Union[str, Path]) -> Dict[str, Path]:
    """md5 -> path for all files under mirror."""
    index: Dict[str, Path] = {}
    for path in sorted(Path(mirror).rglob("*")):
        if path.is_file():
            index.setdefault(md5_file(path), path)
    return index


def place_assets(
    project_dir: Union[str, Path], mirror: Union[str, Path], *, include_extra: bool = True
) -> Tuple[List[str], List[str], List[str]]:
    """Copy the project's assets from a local mirror into their dest paths.

    project_dir: Directory with project.yml.
    mirror: Directory holding copies of the asset files (any layout).
    include_extra: Also place assets marked `extra: true`.
    RETURNS (Tuple[List[str], List[str], List[str]]): dest paths placed, already
        present with the right checksum, and not found in the mirror.
    """
    project_dir = Path(project_dir)
    config = srsly.read_yaml(project_dir / "project.yml")
    assets = [
        a for a in config.get("assets", [])
        if a.get("checksum") and (include_extra or not a.get("extra", False))
    ]
    placed: List[str] = []
    present: List[str] = []
    missing: List[str] = []
    todo = []
    for asset in assets:
        dest = project_dir / asset["dest"]
        if dest.is_file() and md5_file(dest) == asset["checksum"]:
            present.append(asset["dest"])
        else:
            todo.append(asset)
    index = index_mirror(mirror) if todo else {}
    for asset in todo:
        source = index.get(asset["checksum"])
        if source is None:
            missing.append(asset["dest"])
            continue
        dest = project_dir / asset["dest"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        placed.append(asset["dest"])
    return placed, present, missing
