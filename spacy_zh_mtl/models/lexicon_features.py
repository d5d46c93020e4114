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
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats2d, Ragged
from wasabi import msg

from ..char_index import code_points, doc_texts, ragged_positions

SETS = ("B", "M", "E", "S")
# jieba POS tags of entity-like words -> word type
JIEBA_TYPES = {"nr": "PER", "nrt": "PER", "nrfg": "PER", "ns": "LOC", "nt": "ORG"}
MAX_WORD_LENGTH = 12


@dataclass
class Lexicon:
    """Words with a type (index into `types`, -1 for none) and a weight.

    Matching is vectorised over code points: for every length from 1 to the
    longest word, one polynomial hash per position and one binary search in
    the sorted hashes of the words and word prefixes of that length; a
    position stops as soon as its piece begins no word, so most stop after
    one or two characters. 64-bit hashes: a collision among the words and
    the pieces of a batch is about as likely as 1 in 10^9.
    """

    types: List[str]
    words: Dict[str, Tuple[int, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.words:
            raise ValueError("lexicon: no words (empty lexicon)")
        self.max_length = min(max(map(len, self.words)), MAX_WORD_LENGTH)
        self._tables: Optional[List[_HashTable]] = None

    @property
    def width(self) -> int:
        return len(SETS) * (1 + len(self.types))

    def matches(self, text: str) -> numpy.ndarray:
        """(n_matches, 4) rows of start, length, type id (-1: none), weight."""
        return self._matches(text, numpy.zeros(len(text), dtype="int64"))

    def _matches(self, text: str, doc_of_char: numpy.ndarray) -> numpy.ndarray:
        """The matches in `text` that lie within one document (`doc_of_char`:
        the document of every character of the concatenated batch)."""
        points = code_points(text).astype(numpy.uint64)
        tables = self._hash_tables()
        found = []
        positions = numpy.arange(len(points))
        hashes = numpy.zeros(len(points), dtype=numpy.uint64)
        for length, table in enumerate(tables, 1):
            inside = positions + length <= len(points)
            positions, hashes = positions[inside], hashes[inside]
            inside = doc_of_char[positions + length - 1] == doc_of_char[positions]
            positions, hashes = positions[inside], hashes[inside]
            if not len(positions):
                break
            hashes = hashes * _BASE + points[positions + length - 1]
            slot = numpy.minimum(numpy.searchsorted(table.hashes, hashes), len(table.hashes) - 1)
            hit = table.hashes[slot] == hashes
            word = hit & table.is_word[slot]
            if word.any():
                rows = slot[word]
                found.append(numpy.stack([
                    positions[word], numpy.full(int(word.sum()), length), table.types[rows], table.weights[rows]
                ], axis=1))
            keep = hit & table.is_prefix[slot]
            positions, hashes = positions[keep], hashes[keep]
        if not found:
            return numpy.zeros((0, 4), dtype="float64")
        return numpy.concatenate(found).astype("float64")

    def features(self, text: str) -> Floats2d:
        """(len(text), width) set weights for every character of `text`."""
        return self.batch_features([text])

    def batch_features(self, texts: Sequence[str]) -> Floats2d:
        """(total characters, width) set weights for every character of the
        texts, in order; no match crosses from one text into the next."""
        text = "".join(texts)
        lengths = numpy.fromiter(map(len, texts), dtype="int64", count=len(texts))
        doc_of_char = numpy.repeat(numpy.arange(len(texts)), lengths)
        n_groups = 1 + len(self.types)
        out = numpy.zeros((len(text) * n_groups * len(SETS),), dtype="float32")
        found = self._matches(text, doc_of_char)
        if len(found):
            typed = found[found[:, 2] >= 0]
            # every match counts for the "all words" group, typed ones for their type too
            rows = numpy.concatenate([found, typed])
            groups = numpy.concatenate([numpy.zeros(len(found)), typed[:, 2] + 1]).astype("int64")
            start, length, weight = rows[:, 0].astype("int64"), rows[:, 1].astype("int64"), rows[:, 3]
            single = length == 1
            multi = ~single
            inner = numpy.maximum(length - 2, 0)
            positions = numpy.concatenate([
                start[single], start[multi], start[multi] + length[multi] - 1, ragged_positions(start + 1, inner)
            ])
            sets = numpy.concatenate([
                numpy.full(int(single.sum()), SETS.index("S")),
                numpy.full(int(multi.sum()), SETS.index("B")),
                numpy.full(int(multi.sum()), SETS.index("E")),
                numpy.full(int(inner.sum()), SETS.index("M")),
            ])
            group = numpy.concatenate([groups[single], groups[multi], groups[multi], numpy.repeat(groups, inner)])
            value = numpy.concatenate([weight[single], weight[multi], weight[multi], numpy.repeat(weight, inner)])
            _scatter_max(out, (positions * n_groups + group) * len(SETS) + sets, value)
        return out.reshape(len(text), self.width)

    def _hash_tables(self) -> List["_HashTable"]:
        if self._tables is None:
            self._tables = _build_tables(self.words, self.max_length)
        return self._tables

    def to_dict(self) -> Dict[str, Any]:
        return {"types": self.types, "words": {w: list(e) for w, e in self.words.items()}}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Lexicon":
        return cls(list(data["types"]), {w: (int(t), float(v)) for w, (t, v) in data["words"].items()})


_BASE = numpy.uint64(1_000_003)


@dataclass
class _HashTable:
    """The sorted hashes of the words and proper word prefixes of one length."""

    hashes: numpy.ndarray
    is_word: numpy.ndarray
    is_prefix: numpy.ndarray
    types: numpy.ndarray
    weights: numpy.ndarray


def _build_tables(words: Dict[str, Tuple[int, float]], max_length: int) -> List[_HashTable]:
    """One table per length, hashing every word's prefixes column by column."""
    kept = [w for w in words if len(w) <= max_length]
    lengths = numpy.fromiter(map(len, kept), dtype="int64", count=len(kept))
    padded = "".join(w.ljust(max_length, "\0") for w in kept)
    points = code_points(padded)
    points = points.reshape(len(kept), max_length).astype(numpy.uint64)
    types = numpy.fromiter((words[w][0] for w in kept), dtype="int64", count=len(kept))
    weights = numpy.fromiter((words[w][1] for w in kept), dtype="float64", count=len(kept))
    hashes = numpy.zeros(len(kept), dtype=numpy.uint64)
    tables = []
    for length in range(1, max_length + 1):
        hashes = hashes * _BASE + points[:, length - 1]
        reach = lengths >= length
        keys, inverse = numpy.unique(hashes[reach], return_inverse=True)
        ends_here = lengths[reach] == length
        is_word = numpy.zeros(len(keys), dtype=bool)
        is_word[inverse[ends_here]] = True
        is_prefix = numpy.zeros(len(keys), dtype=bool)
        is_prefix[inverse[~ends_here]] = True
        key_types = numpy.full(len(keys), -1, dtype="int64")
        key_weights = numpy.zeros(len(keys), dtype="float64")
        key_types[inverse[ends_here]] = types[reach][ends_here]
        key_weights[inverse[ends_here]] = weights[reach][ends_here]
        tables.append(_HashTable(keys, is_word, is_prefix, key_types, key_weights))
    return tables


def _scatter_max(out: numpy.ndarray, index: numpy.ndarray, value: numpy.ndarray) -> None:
    """out[index] = max(out[index], value), for repeated indices too (faster
    than `numpy.maximum.at`): sort by index then value, keep each index's last."""
    order = numpy.lexsort((value, index))
    index, value = index[order], value[order]
    last = numpy.append(index[1:] != index[:-1], True)
    out[index[last]] = numpy.maximum(out[index[last]], value[last])


LexiconLoader = Callable[[], Lexicon]


@registry.architectures("spacy_zh_mtl.LexiconFeatures.v1")
def build_lexicon_features(lexicon: LexiconLoader) -> Model[List[Doc], Ragged]:
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


def add_words(model: Model, entries: Sequence[Tuple[str, Optional[str]]], weight: float = 1.0) -> int:
    """Add (word, type or None) entries to an initialized lexicon source, at
    `weight` (1.0: as strong as the most frequent word). The lexicon is part
    of the model: saved with the pipeline, used from the next call on.
    Returns how many words were new."""
    data = model.attrs["lexicon"]
    if data is None:
        raise ValueError("lexicon: add words after the pipeline is initialized (trained or loaded)")
    type_ids = {name: i for i, name in enumerate(data["types"])}
    unknown = sorted({t for _, t in entries if t is not None and t not in type_ids})
    if unknown:
        raise ValueError(f"lexicon: unknown word type(s) {unknown}; this lexicon has {data['types'] or 'no types'}")
    bad = [w for w, _ in entries if not w or len(w) > MAX_WORD_LENGTH or any(c.isspace() for c in w)]
    if bad:
        raise ValueError(
            f"lexicon: {len(bad)} word(s) empty, with whitespace or longer than {MAX_WORD_LENGTH} "
            f"characters, e.g. {bad[:3]}"
        )
    words = dict(data["words"])
    new = sum(word not in words for word, _ in entries)
    for word, word_type in entries:
        words[word] = [type_ids[word_type] if word_type is not None else -1, float(weight)]
    model.attrs["lexicon"] = {"types": list(data["types"]), "words": words}
    return new


def read_user_words(path: Path) -> List[Tuple[str, Optional[str]]]:
    """(word, type) entries of a user dictionary in jieba's format, `word
    [freq] [tag]` per line (nr/ns/nt read as PER/LOC/ORG, other tags as they
    are). Bad lines stop with their line number."""
    entries = []
    for line_no, line, parsed in _word_list_lines(path, "user dictionary"):
        if isinstance(parsed, str):
            raise ValueError(f"user dictionary {path}:{line_no}: {parsed}: {line.strip()[:200]!r}")
        word, _, tag = parsed
        entries.append((word, JIEBA_TYPES.get(tag, tag) if tag is not None else None))
    return entries


def forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[Ragged, Callable]:
    texts = doc_texts(docs)
    features = model.ops.asarray2f(_lexicon(model).batch_features(texts))
    lengths = model.ops.asarray1i([len(text) for text in texts])

    def backprop(d_features: Ragged) -> List[Doc]:
        return docs

    return Ragged(features, lengths), backprop


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
    entries: Dict[str, Tuple[Optional[str], float]] = {}
    skipped: Dict[str, int] = {}
    first_bad: Optional[int] = None
    for line_no, _, parsed in _word_list_lines(path, "lexicon"):
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


def _word_list_lines(
    path: Path, what: str
) -> Iterator[Tuple[int, str, Union[str, Tuple[str, float, Optional[str]]]]]:
    """(line number, line, `_parse_entry` of its fields) for every non-blank
    line of a `word [freq] [tag]` file."""
    if not path.is_file():
        raise FileNotFoundError(f"{what}: no such file: {path}")
    with path.open(encoding="utf-8-sig") as f:
        for line_no, line in enumerate(f, 1):
            parts = line.split()
            if parts:
                yield line_no, line, _parse_entry(parts)


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
