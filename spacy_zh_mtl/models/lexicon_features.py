"""Lexicon features (SoftLexicon-style "word features") as a character feature source.

Every character gets, for each of the sets B (begins a lexicon word), M (inside
one), E (ends one) and S (is a one-character word), the weight of the best
lexicon word in that set: 1.0, or the word's log frequency scaled to [0, 1]
when `weighted`. With word types (person / place / organisation from jieba's
`nr`/`ns`/`nt` tags, or a user's own tags) the sets are repeated per type:
4 x (1 + n_types) values per character. The lexicon is read at
initialization (jieba's dictionary or a user's word list), stored in the
model and serialised with the pipeline.
"""
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats2d
from wasabi import msg

from ..char_index import ragged_positions

SETS = ("B", "M", "E", "S")
# jieba POS tags of entity-like words -> word type
JIEBA_TYPES = {"nr": "PER", "nrt": "PER", "nrfg": "PER", "ns": "LOC", "nt": "ORG"}
MAX_WORD_LENGTH = 12


@dataclass
class Lexicon:
    """Words with a type (index into `types`, -1 for none) and a weight."""

    types: List[str]
    words: Dict[str, Tuple[int, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.words:
            raise ValueError("lexicon: no words (empty lexicon)")
        self.max_length = min(max(map(len, self.words)), MAX_WORD_LENGTH)
        # proper prefixes of the words: a scan stops at the first piece that
        # is none (most start characters begin no word longer than 2)
        self.prefixes = {w[:i] for w in self.words for i in range(1, min(len(w), self.max_length))}

    @property
    def width(self) -> int:
        return len(SETS) * (1 + len(self.types))

    def matches(self, text: str) -> numpy.ndarray:
        """(n_matches, 4) rows of start, length, type id (-1: none), weight."""
        words, prefixes = self.words, self.prefixes
        found = []
        n = len(text)
        for start in range(n):
            for end in range(start + 1, min(start + self.max_length, n) + 1):
                piece = text[start:end]
                entry = words.get(piece)
                if entry is not None:
                    found.append((start, end - start, entry[0], entry[1]))
                if piece not in prefixes:
                    break
        return numpy.asarray(found, dtype="float64").reshape(-1, 4)

    def features(self, text: str) -> Floats2d:
        """(len(text), width) set weights for every character of `text`."""
        out = numpy.zeros((len(text), 1 + len(self.types), len(SETS)), dtype="float32")
        found = self.matches(text)
        if len(found):
            typed = found[found[:, 2] >= 0]
            # every match counts for the "all words" group, typed ones for their type too
            rows = numpy.concatenate([found, typed])
            groups = numpy.concatenate([numpy.zeros(len(found)), typed[:, 2] + 1]).astype("int64")
            start, length, weight = rows[:, 0].astype("int64"), rows[:, 1].astype("int64"), rows[:, 3]
            single = length == 1
            numpy.maximum.at(out, (start[single], groups[single], SETS.index("S")), weight[single])
            multi = ~single
            numpy.maximum.at(out, (start[multi], groups[multi], SETS.index("B")), weight[multi])
            end = start[multi] + length[multi] - 1
            numpy.maximum.at(out, (end, groups[multi], SETS.index("E")), weight[multi])
            inner = numpy.maximum(length - 2, 0)
            positions = ragged_positions(start + 1, inner)
            numpy.maximum.at(
                out, (positions, numpy.repeat(groups, inner), SETS.index("M")), numpy.repeat(weight, inner)
            )
        return out.reshape(len(text), self.width)

    def to_dict(self) -> Dict[str, Any]:
        return {"types": self.types, "words": {w: list(e) for w, e in self.words.items()}}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Lexicon":
        return cls(list(data["types"]), {w: (int(t), float(v)) for w, (t, v) in data["words"].items()})


LexiconLoader = Callable[[], Lexicon]


@registry.architectures("spacy_zh_mtl.LexiconFeatures.v1")
def build_lexicon_features(lexicon: LexiconLoader) -> Model[List[Doc], List[Floats2d]]:
    """A character feature source: B/M/E/S lexicon-match weights per
    character (per word type).

    lexicon (Callable[[], Lexicon]): a registered loader, e.g.
        `spacy_zh_mtl.jieba_lexicon.v1` or `spacy_zh_mtl.word_list_lexicon.v1`;
        called at initialization only.
    """
    return Model(
        "lexicon_features",
        forward,
        init=init,
        dims={"nO": None},
        attrs={"load_lexicon": lexicon, "lexicon": None},
    )


def init(model: Model, X: Any = None, Y: Any = None) -> None:
    if model.attrs["lexicon"] is None:
        model.attrs["lexicon"] = model.attrs["load_lexicon"]().to_dict()
    model.set_dim("nO", _lexicon(model).width)


def _lexicon(model: Model) -> Lexicon:
    """The model's lexicon, decoded once from its serialisable form."""
    data = model.attrs["lexicon"]
    cached = model.attrs.get("_decoded")
    if cached is None or cached[0] is not data:
        cached = (data, Lexicon.from_dict(data))
        model.attrs["_decoded"] = cached
    return cached[1]


def forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[List[Floats2d], Callable]:
    lexicon = _lexicon(model)
    outputs = [model.ops.asarray2f(lexicon.features(doc.text)) for doc in docs]

    def backprop(d_outputs: List[Floats2d]) -> List[Doc]:
        return docs

    return outputs, backprop


@registry.misc("spacy_zh_mtl.jieba_lexicon.v1")
def jieba_lexicon(by_type: bool = True, weighted: bool = True) -> LexiconLoader:
    """jieba's dictionary (349,046 words with frequency and POS; MIT), read
    from the installed `jieba` package (`pip install "spacy-zh-mtl[lexicon]"`).

    by_type (bool): person / place / organisation words (jieba `nr*`, `ns`,
        `nt`) also get sets of their own.
    weighted (bool): weight matches by log frequency instead of 1.0.
    """

    def load() -> Lexicon:
        try:
            import jieba
        except ImportError as err:
            raise ImportError(
                'The jieba lexicon needs the \'lexicon\' extra: pip install "spacy-zh-mtl[lexicon]"'
            ) from err
        path = Path(jieba.__file__).parent / "dict.txt"
        return read_word_list(path, by_type=by_type, weighted=weighted, type_map=JIEBA_TYPES, keep_unmapped=False)

    return load


@registry.misc("spacy_zh_mtl.word_list_lexicon.v1")
def word_list_lexicon(
    path: Union[str, Path], by_type: bool = True, weighted: bool = True
) -> LexiconLoader:
    """A word list, one `word [freq] [tag]` per line (jieba's user-dictionary
    format; a domain dictionary is the main use). jieba tags nr/ns/nt map to
    PER/LOC/ORG, other tags are word types as they are.
    """

    def load() -> Lexicon:
        return read_word_list(Path(path), by_type=by_type, weighted=weighted, type_map=JIEBA_TYPES)

    return load


def read_word_list(
    path: Path,
    *,
    by_type: bool,
    weighted: bool,
    type_map: Dict[str, str],
    keep_unmapped: bool = True,
) -> Lexicon:
    """Read `word [freq] [tag]` lines. Lines with more fields, a frequency that
    is not a number nor a tag, or no word are skipped and counted."""
    if not path.exists():
        raise FileNotFoundError(f"lexicon: no such file: {path}")
    entries: Dict[str, Tuple[Optional[str], float]] = {}
    skipped: Dict[str, int] = {}
    first_bad: Optional[int] = None
    with path.open(encoding="utf-8-sig") as f:
        for line_no, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            parsed = _parse_entry(parts)
            if isinstance(parsed, str):
                skipped[parsed] = skipped.get(parsed, 0) + 1
                first_bad = first_bad or line_no
                continue
            word, freq, tag = parsed
            if tag is not None:
                tag = type_map.get(tag, tag if keep_unmapped else None)
            entries[word] = (tag if by_type else None, max(freq, 1.0))
    if not entries:
        raise ValueError(f"lexicon: {path} has no words")
    types = sorted({tag for tag, _ in entries.values() if tag is not None})
    type_ids = {tag: i for i, tag in enumerate(types)}
    top = math.log1p(max(freq for _, freq in entries.values()))
    words = {
        word: (type_ids[tag] if tag is not None else -1, math.log1p(freq) / top if weighted and top > 0 else 1.0)
        for word, (tag, freq) in entries.items()
    }
    msg.info(f"Lexicon: {len(words)} words, types {types or 'none'} from {path}")
    if skipped:
        counted = ", ".join(f"{n} {why}" for why, n in skipped.items())
        msg.warn(f"Lexicon: skipped {counted} (first: {path}:{first_bad})")
    return Lexicon(types, words)


def _parse_entry(parts: List[str]) -> Union[str, Tuple[str, float, Optional[str]]]:
    """(word, frequency, tag) of a line's fields, or the reason it is skipped."""
    if len(parts) > 3:
        return "lines with more than 3 fields"
    word, rest = parts[0], parts[1:]
    freq, tag = 1.0, None
    if rest and _is_number(rest[0]):
        freq = float(rest.pop(0))
    if len(rest) > 1:
        return "lines whose frequency is not a number"
    if rest:
        tag = rest[0]
    return word, freq, tag


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
