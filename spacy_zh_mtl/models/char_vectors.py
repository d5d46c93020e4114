"""Pretrained character vectors as a character feature source.

The table is read once, when the pipeline is initialized (`spacy train`'s
initialize step, or `nlp.initialize()`), by a registered loader; it is then
stored in the model and serialised with the pipeline, so a packaged pipeline
needs neither the file nor the package the table came from.

A character the table lacks is looked up again in NFKC form (full-width Latin
and digits, compatibility ideographs), and otherwise gets the learned
`unknown` row. Whitespace and control characters that no table holds get it
too: every character has a row.
"""
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy
from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats1d, Floats2d, Ints1d, Ragged
from wasabi import msg

from ..char_index import code_points, doc_texts


@dataclass
class CharTable:
    """A pretrained table: character -> row of `vectors`, and an optional
    vector for characters it lacks (else the unknown row starts at zero)."""

    index: Dict[str, int]
    vectors: Floats2d
    unknown: Optional[Floats1d] = None

    def __post_init__(self) -> None:
        if not self.index:
            raise ValueError("character table: no characters (empty table)")
        if self.vectors.ndim != 2 or len(self.vectors) <= max(self.index.values()):
            raise ValueError(
                f"character table: rows up to {max(self.index.values())} but vectors of "
                f"shape {self.vectors.shape}"
            )


CharTableLoader = Callable[[], CharTable]


@registry.architectures("spacy_zh_mtl.CharVectors.v1")
def build_char_vectors(table: CharTableLoader, fine_tune: bool = True) -> Model[List[Doc], Ragged]:
    """A character feature source: every character gets its row of a
    pretrained table.

    table (Callable[[], CharTable]): a registered loader, e.g.
        `spacy_zh_mtl.lac_char_vectors.v1` or `spacy_zh_mtl.text_char_vectors.v1`;
        called at initialization only.
    fine_tune (bool): update the table while training. The row for
        characters the table lacks is learned either way.
    """
    return Model(
        "char_vectors",
        forward,
        init=init,
        params={"E": None, "U": None},
        dims={"nO": None},
        attrs={"load_table": table, "fine_tune": fine_tune, "index": {}},
    )


def init(model: Model, X: Any = None, Y: Any = None) -> None:
    if model.has_param("E") and model.get_param("E") is not None:
        return
    table = model.attrs["load_table"]()
    # a copy: the optimizer updates parameters in place, and loaders may cache
    # their table (LAC's is shared by the vectors and LAC-states sources)
    vectors = model.ops.asarray2f(numpy.array(table.vectors, dtype="float32"))
    unknown = table.unknown if table.unknown is not None else numpy.zeros(vectors.shape[1])
    model.set_dim("nO", vectors.shape[1])
    model.set_param("E", vectors)
    model.set_param("U", model.ops.asarray2f(numpy.array(unknown, dtype="float32").reshape(1, -1)))
    model.attrs["index"] = dict(table.index)


class CharIndex:
    """A table's character -> row map as sorted code points, for vectorised
    lookups of a whole batch's text."""

    def __init__(self, index: Dict[str, int]) -> None:
        self.index = index
        chars = sorted(index)
        self.points = numpy.array([ord(c) for c in chars], dtype=numpy.uint32)
        self.table_rows = numpy.array([index[c] for c in chars], dtype="int64")

    def rows(self, text: str) -> Ints1d:
        """The table row of every character of `text`; -1 for the unknown row.
        A character the table lacks is looked up again in NFKC form."""
        points = code_points(text)
        if not len(self.points):
            return numpy.full(len(points), -1, dtype="int64")
        slot = numpy.minimum(numpy.searchsorted(self.points, points), len(self.points) - 1)
        rows = numpy.where(self.points[slot] == points, self.table_rows[slot], -1)
        for i in numpy.flatnonzero(rows < 0).tolist():
            rows[i] = self.index.get(unicodedata.normalize("NFKC", text[i]), -1)
        return rows


def _char_index(model: Model) -> CharIndex:
    """The model's lookup structure, built once from its `index` attr."""
    cached = model.attrs.get("_lookup")
    if cached is None or cached.index is not model.attrs["index"]:
        cached = CharIndex(model.attrs["index"])
        model.attrs["_lookup"] = cached
    return cached


def forward(model: Model, docs: List[Doc], is_train: bool) -> Tuple[Ragged, Callable]:
    E = model.get_param("E")
    U = model.get_param("U")
    xp = model.ops.xp
    texts = doc_texts(docs)
    lengths = model.ops.asarray1i([len(text) for text in texts])
    rows = _char_index(model).rows("".join(texts))
    known = rows >= 0
    known_xp = xp.asarray(known)
    out = E[xp.asarray(numpy.maximum(rows, 0))]
    out[~known_xp] = U[0]

    def backprop(d_out: Ragged) -> List[Doc]:
        d = d_out.dataXd
        d_U = d[~known_xp].sum(axis=0, keepdims=True)
        if model.attrs["fine_tune"] and known.any():
            d_E = model.ops.alloc2f(*E.shape)
            model.ops.scatter_add(d_E, model.ops.asarray1i(rows[known]), d[known_xp])
            model.inc_grad("E", d_E)
        model.inc_grad("U", model.ops.asarray2f(d_U))
        return docs

    return Ragged(out, lengths), backprop


@registry.misc("spacy_zh_mtl.text_char_vectors.v1")
def text_char_vectors(path: Union[str, Path]) -> CharTableLoader:
    """Character vectors from a word2vec / fastText-style text file: an
    optional `N DIM` header, then `TOKEN v1 ... vDIM` per line (e.g. Tencent
    or fastText Chinese vectors). Only single-character tokens are kept;
    multi-character tokens and broken lines are counted and skipped.
    """

    def load() -> CharTable:
        return read_text_vectors(Path(path))

    return load


def read_text_vectors(path: Path) -> CharTable:
    """Read a word2vec-style text file; see `text_char_vectors`."""
    if not path.exists():
        raise FileNotFoundError(f"character vectors: no such file: {path}")
    index: Dict[str, int] = {}
    rows: List[List[float]] = []
    width: Optional[int] = None
    skipped = {"multi-character token": 0, "broken line": 0, "duplicate": 0}
    first_broken: Optional[int] = None
    with path.open(encoding="utf-8-sig") as f:
        for line_no, line in enumerate(f, 1):
            parts = line.rstrip("\r\n").split(" ")
            if line_no == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                width = int(parts[1])
                continue
            token, values = parts[0], [p for p in parts[1:] if p]
            if not token and not values:
                continue
            try:
                vector = [float(v) for v in values]
            except ValueError:
                vector = []
            if not vector or (width is not None and len(vector) != width):
                skipped["broken line"] += 1
                first_broken = first_broken or line_no
                continue
            width = len(vector)
            if len(token) != 1:
                skipped["multi-character token"] += 1
            elif token in index:
                skipped["duplicate"] += 1
            else:
                index[token] = len(rows)
                rows.append(vector)
    if not rows:
        raise ValueError(f"character vectors: {path} has no single-character rows")
    counted = ", ".join(f"{n} {what}" for what, n in skipped.items() if n)
    msg.info(f"Character vectors: {len(rows)} characters x {width} from {path}")
    if counted:
        where = f" (first broken line: {path}:{first_broken})" if first_broken else ""
        msg.warn(f"Character vectors: skipped {counted}{where}")
    return CharTable(index, numpy.asarray(rows, dtype="float32"))
