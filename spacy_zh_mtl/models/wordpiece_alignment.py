"""Which wordpiece rows of a transformer's output each character is aligned to.

Characters are aligned to wordpieces per transformer span with
spacy-alignments (which handles the tokenizer's lower-casing, accent stripping
and "##" continuation pieces), so a digit run or a Latin word that forms one
wordpiece gives that piece's row to each of its characters, and a character
seen by several overlapping strided spans gets the rows of all of them.
Characters that no piece matches by text (pieces mapped to [UNK], such as
emoji or rare CJK) fall back to the wordpieces of the spaCy token that
contains them; characters the transformer never sees (whitespace, control
characters, text cut off by truncation) get no row.

The usual Chinese batch needs none of that: every span's pieces spell its
text and the spans cover the Doc. `batch_char_alignment` aligns such Docs for
the whole batch at once, and sends only the others through `char_alignment`.
"""
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

import numpy
import spacy_alignments
from spacy.tokens import Doc
from thinc.api import get_array_module, to_numpy
from thinc.types import Ints1d, Ragged

from ..char_index import char_token_index, doc_texts, ragged_positions, token_bounds

if TYPE_CHECKING:
    from spacy_transformers.data_classes import TransformerData

SPECIAL_PIECES = {"[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]", "<s>", "</s>", "<pad>", "<unk>"}


@dataclass
class _Span:
    """A transformer span of one Doc: its characters and wordpiece rows."""

    start: int
    end: int
    first_row: int  # the row of its first wordpiece in the Doc's flattened output
    targets: List[str]  # the pieces' text ("" for special pieces)


def batch_char_alignment(
    docs: Sequence[Doc], trf_datas: Sequence["TransformerData"], row_offsets: Sequence[Optional[int]]
) -> Tuple[Ints1d, Ints1d]:
    """For every character of the batch, in order: how many wordpiece rows
    it is aligned to (`lengths`) and, concatenated, those rows (`rows`) in the
    batch's stacked output, where Doc i's rows start at `row_offsets[i]` (None:
    the Doc has no transformer output). The same as `char_alignment` per Doc."""
    texts = doc_texts(docs)
    char_offsets = numpy.cumsum([0] + [len(text) for text in texts])
    with_rows = [i for i, offset in enumerate(row_offsets) if offset is not None]
    batch_spans = _batch_spans([docs[i] for i in with_rows], [trf_datas[i] for i in with_rows])
    fast_starts: List[int] = []
    fast_ends: List[int] = []
    piece_rows: List[int] = []
    piece_lengths: List[int] = []
    slow_chars: List[Ints1d] = []
    slow_rows: List[Ints1d] = []
    for i, spans in zip(with_rows, batch_spans):
        text, row_offset, char_offset = texts[i], row_offsets[i], int(char_offsets[i])
        spelled = [_piece_lengths(text[s.start : s.end], s.targets) for s in spans]
        if all(lengths is not None for lengths in spelled) and _covers(spans, len(text)):
            for span, lengths in zip(spans, spelled):
                fast_starts.append(char_offset + span.start)
                fast_ends.append(char_offset + span.end)
                first = row_offset + span.first_row
                piece_rows.extend(range(first, first + len(lengths)))
                piece_lengths.extend(lengths)
        else:
            align = char_alignment(docs[i], trf_datas[i], text, spans)
            slow_chars.append(numpy.repeat(numpy.arange(len(text)), align.lengths) + char_offset)
            slow_rows.append(to_numpy(align.dataXd).astype("int64") + row_offset)
    starts = numpy.asarray(fast_starts, dtype="int64")
    chars = ragged_positions(starts, numpy.asarray(fast_ends, dtype="int64") - starts)
    rows = numpy.repeat(numpy.asarray(piece_rows, dtype="int64"), numpy.asarray(piece_lengths, dtype="int64"))
    chars = numpy.concatenate([chars, *slow_chars]) if slow_chars else chars
    rows = numpy.concatenate([rows, *slow_rows]) if slow_rows else rows
    order = numpy.argsort(chars, kind="stable")  # by character, spans in order
    lengths = numpy.bincount(chars, minlength=int(char_offsets[-1]))
    return rows[order].astype("int32"), lengths.astype("int32")


def _spans(doc: Doc, trf_data: "TransformerData") -> List[_Span]:
    """The Doc's transformer spans that hold at least one of its tokens."""
    return _batch_spans([doc], [trf_data])[0]


def _batch_spans(docs: Sequence[Doc], trf_datas: Sequence["TransformerData"]) -> List[List[_Span]]:
    """`_spans` of every Doc, with the token arithmetic done once for the batch."""
    if not docs:
        return []
    xp = get_array_module(trf_datas[0].align.lengths)
    token_lengths = to_numpy(xp.concatenate([t.align.lengths for t in trf_datas])).astype("int64")
    token_rows = to_numpy(xp.concatenate([t.align.dataXd.ravel() for t in trf_datas])).astype("int64")
    n_tokens = numpy.array([len(t.align.lengths) for t in trf_datas], dtype="int64")
    n_spans = numpy.array([len(t.wordpieces.strings) for t in trf_datas], dtype="int64")
    span_length = numpy.array([t.wordpieces.input_ids.shape[1] for t in trf_datas], dtype="int64")
    doc_of_token = numpy.repeat(numpy.arange(len(docs)), n_tokens)
    rows_per_doc = numpy.bincount(doc_of_token, weights=token_lengths, minlength=len(docs)).astype("int64")
    doc_of_row = numpy.repeat(numpy.arange(len(docs)), rows_per_doc)
    span_offset = numpy.cumsum(n_spans) - n_spans
    row_span = token_rows // span_length[doc_of_row] + span_offset[doc_of_row]
    row_token = numpy.repeat(numpy.arange(len(token_lengths)), token_lengths)
    first = numpy.full(int(n_spans.sum()), len(token_lengths), dtype="int64")
    last = numpy.full(int(n_spans.sum()), -1, dtype="int64")
    numpy.minimum.at(first, row_span, row_token)
    numpy.maximum.at(last, row_span, row_token)
    bounds = numpy.concatenate([token_bounds(doc) for doc in docs])
    if not len(bounds):
        return [[] for _ in docs]
    starts, ends = bounds[numpy.minimum(first, len(bounds) - 1), 0], bounds[numpy.maximum(last, 0), 1]
    out: List[List[_Span]] = []
    for d, trf_data in enumerate(trf_datas):
        spans = []
        for i, pieces in enumerate(trf_data.wordpieces.strings):
            g = span_offset[d] + i
            if last[g] >= 0:
                targets = ["" if piece in SPECIAL_PIECES else piece.removeprefix("##") for piece in pieces]
                spans.append(_Span(int(starts[g]), int(ends[g]), i * int(span_length[d]), targets))
        out.append(spans)
    return out


def _covers(spans: Sequence[_Span], n_chars: int) -> bool:
    """The spans together cover every character."""
    covered = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start > covered:
            return False
        covered = max(covered, span.end)
    return covered >= n_chars


def _piece_lengths(text: str, targets: List[str]) -> Optional[List[int]]:
    """The characters of each piece when the pieces spell `text` exactly
    (ignoring case), the usual case for Chinese; None otherwise (whitespace,
    [UNK], accents stripped...), where spacy-alignments is needed."""
    joined = "".join(targets)
    if joined != text:
        lowered = text.lower()
        # str.lower never drops a character, so equal lengths keep positions
        if joined != lowered or len(lowered) != len(text):
            return None
    return [len(target) for target in targets]


def char_alignment(
    doc: Doc, trf_data: "TransformerData", text: Optional[str] = None, spans: Optional[List[_Span]] = None
) -> Ragged:
    """Map each character of `doc.text` to rows of the flattened
    (n_spans * span_length) wordpiece output, as a Ragged of row indices.
    `text` and `spans` (`_spans`): if the caller has them already."""
    text = doc.text if text is None else text
    chars: List[Ints1d] = []
    rows: List[Ints1d] = []
    for span in _spans(doc, trf_data) if spans is None else spans:
        span_text = text[span.start : span.end]
        lengths = _piece_lengths(span_text, span.targets)
        if lengths is not None:
            flat = numpy.repeat(numpy.arange(len(lengths)), lengths)
            chars.append(numpy.arange(span.start, span.end))
        else:
            char2piece, _ = spacy_alignments.get_alignments(list(span_text), span.targets)
            counts = numpy.fromiter(map(len, char2piece), dtype="int64", count=len(span_text))
            flat = numpy.fromiter(chain.from_iterable(char2piece), dtype="int64", count=int(counts.sum()))
            chars.append(numpy.repeat(numpy.arange(span.start, span.end), counts))
        rows.append(flat + span.first_row)
    char_ids = numpy.concatenate(chars) if chars else numpy.zeros((0,), dtype="int64")
    row_ids = numpy.concatenate(rows) if rows else numpy.zeros((0,), dtype="int64")
    # Characters no wordpiece matched by text take their token's wordpieces.
    matched = numpy.zeros((len(text),), dtype=bool)
    matched[char_ids] = True
    token_of_char = char_token_index(doc)
    fallback = numpy.flatnonzero(~matched & (token_of_char >= 0))
    if fallback.size:
        token_lengths = to_numpy(trf_data.align.lengths).astype("int64")
        token_rows = to_numpy(trf_data.align.dataXd).astype("int64").ravel()
        tokens = token_of_char[fallback]
        token_starts = numpy.cumsum(token_lengths) - token_lengths
        n_rows = token_lengths[tokens]
        fallback_rows = token_rows[ragged_positions(token_starts[tokens], n_rows)]
        char_ids = numpy.concatenate([char_ids, numpy.repeat(fallback, n_rows)])
        row_ids = numpy.concatenate([row_ids, fallback_rows])
    order = numpy.argsort(char_ids, kind="stable")
    lengths = numpy.bincount(char_ids, minlength=len(text)).astype("int32")
    return Ragged(row_ids[order].astype("int32"), lengths)
