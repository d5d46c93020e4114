"""Entity label maps and tag set helpers.

Weibo NER has 8 labels: PER/ORG/LOC/GPE x NAM (named) / NOM (nominal). The
method paper (seeds/000, section 4.1) says both of its NER corpora were
"integrated into the three types person, location, organisation" without
giving the mapping, and its Weibo counts (train 1229 sentences, PER 938,
LOC 267, ORG 165) match neither mapping below on the 2nd (corrected) release
used here (all mentions: PER 1340, LOC 320, ORG 225; named only: PER 574,
LOC 261, ORG 183), so the paper most likely used the first release. We offer:

- "merge": PER.* -> PER, LOC.* -> LOC, GPE.* -> LOC, ORG.* -> ORG (all mentions);
- "merge-nam": the same for named mentions only; nominal mentions become O
  and are counted as skipped entities.
"""
import json
from pathlib import Path
from typing import Dict, Iterable, Optional, Union

from .spans import OpenLabelMap

WEIBO_LABELS = (
    "PER.NAM", "PER.NOM", "ORG.NAM", "ORG.NOM",
    "LOC.NAM", "LOC.NOM", "GPE.NAM", "GPE.NOM",
)

WEIBO_MERGE: Dict[str, Optional[str]] = {
    "PER.NAM": "PER", "PER.NOM": "PER",
    "LOC.NAM": "LOC", "LOC.NOM": "LOC",
    "GPE.NAM": "LOC", "GPE.NOM": "LOC",
    "ORG.NAM": "ORG", "ORG.NOM": "ORG",
}

WEIBO_MERGE_NAM: Dict[str, Optional[str]] = {
    label: (merged if label.endswith(".NAM") else None)
    for label, merged in WEIBO_MERGE.items()
}

# name -> mapping (None: keep labels as they are). A label mapped to None is
# removed (the entity becomes O) and counted.
LABEL_MAPS: Dict[str, Optional[Dict[str, Optional[str]]]] = {
    "none": None,
    "merge": WEIBO_MERGE,
    "merge-nam": WEIBO_MERGE_NAM,
}

def load_label_map(path: Union[str, Path]) -> OpenLabelMap:
    """Read a label map file: a JSON object old label -> new label, or null to
    drop the entity (counted). Labels the file does not name stay as they are.

    RAISES (ValueError): Not a JSON object of strings to strings or null.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: label map is not valid JSON: {err}") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and (v is None or (isinstance(v, str) and v)) for k, v in data.items()
    ):
        raise ValueError(f"{path}: a label map is a JSON object of old label -> new label or null")
    return OpenLabelMap(data)


# Proper-noun tag per tag set, in order of preference.
PROPER_NOUN_TAGS = ("NR", "NNP", "PROPN")


def get_label_map(name: str) -> Optional[Dict[str, Optional[str]]]:
    """Look up a label map by name ("none", "merge", "merge-nam")."""
    if name not in LABEL_MAPS:
        raise ValueError(f"Unknown label map {name!r}; choose one of {sorted(LABEL_MAPS)}")
    return LABEL_MAPS[name]


def proper_noun_tag(tags: Iterable[str]) -> str:
    """Return the proper-noun tag of a tag set: NR (CTB), NNP (UD Chinese XPOS)
    or PROPN (UPOS), the first one present in `tags`.
    """
    tagset = set(tags)
    for tag in PROPER_NOUN_TAGS:
        if tag in tagset:
            return tag
    raise ValueError(
        f"No proper-noun tag ({', '.join(PROPER_NOUN_TAGS)}) in the tag set "
        f"{sorted(tagset)[:20]}; give the entity tags explicitly"
    )
