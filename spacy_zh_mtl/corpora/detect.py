"""Detecting the format of an NER corpus file from its content.

- `.spacy` files (or content that is not UTF-8 text): "docbin".
- JSON (a line or an array starting with `{` / `[`): the shape of the first
  record (`jsonspans.record_format`): "cluener", "spacy", "doccano" or
  "labelstudio".
- anything else is character-per-line: "weibo" when every first column of the
  first sentences is TAB-separated and a character followed by position
  digits, else "chars" (spaces or tabs, scheme detected).
"""
import json
from pathlib import Path
from typing import Union

from .jsonspans import record_format
from .lines import BOM

NER_FORMATS = ("chars", "peoples_daily", "weibo", "cluener", "spacy", "doccano", "labelstudio", "docbin")
SAMPLE_BYTES = 1 << 16
SAMPLE_LINES = 200


def detect_format(path: Union[str, Path]) -> str:
    """Return the NER format of a corpus file (one of NER_FORMATS).

    RAISES (ValueError): Empty file, or JSON of an unknown shape.
    """
    path = Path(path)
    if path.suffix == ".spacy":
        return "docbin"
    with path.open("rb") as f:
        raw = f.read(SAMPLE_BYTES)
    try:
        sample = raw.decode("utf8")
    except UnicodeDecodeError as err:
        if err.start < len(raw) - 4:  # not just a character cut at the sample's end
            return "docbin"
        sample = raw[: err.start].decode("utf8")
    sample = sample.lstrip(BOM).lstrip()
    if not sample:
        raise ValueError(f"{path}: empty file, no format to detect")
    if sample[0] in "[{":
        record = None
        if sample[0] == "[":
            try:
                record, _ = json.JSONDecoder().raw_decode(sample, sample.index("{"))
            except (ValueError, json.JSONDecodeError):
                record = None
        else:
            try:
                record = json.loads(sample.splitlines()[0])
            except json.JSONDecodeError:
                record = None
        fmt = record_format(record)
        if fmt == "plain":
            return "spacy"
        if fmt is None:
            raise ValueError(
                f"{path}: JSON of an unknown shape (expected spaCy/Prodigy 'spans', doccano "
                f"'label'/'entities', Label Studio tasks or CLUENER); use --format"
            )
        return fmt
    lines = [line for line in sample.splitlines()[:SAMPLE_LINES] if line.strip()]
    items = [line.split("\t")[0] if "\t" in line else "" for line in lines]
    # Weibo: a character (or two U+FFFD) followed by its position digits
    if items and all(len(item) >= 2 and item[-1] in "0123456789" for item in items):
        return "weibo"
    return "chars"
