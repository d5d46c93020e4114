"""Make predicted character-level entities token-aligned by splitting tokens."""
import dataclasses
from bisect import bisect_right
from typing import Dict, List, Optional, Sequence

import numpy
from spacy.language import Language
from spacy.tokens import Doc
from thinc.api import to_numpy
from thinc.types import Ints1d, Ragged

from ..char_index import ragged_positions, token_bounds
from ..types import CharSpan


def trim_spans(text: str, spans: Sequence[CharSpan]) -> List[CharSpan]:
    """Strip leading and trailing whitespace from spans; drop empty ones."""
    trimmed = []
    for start, end, label in spans:
        piece = text[start:end]
        start += len(piece) - len(piece.lstrip())
        end -= len(piece) - len(piece.rstrip())
        if end > start:
            trimmed.append((start, end, label))
    return trimmed


def set_char_entities(
    doc: Doc, spans: Sequence[CharSpan], entity_tags: Dict[str, str], text: Optional[str] = None
) -> None:
    """Set `doc.ents` to the given character spans, first splitting every token
    that an entity boundary falls inside, so each entity is exactly a token
    span. A piece inside an entity takes the tag `entity_tags` maps its label
    to (if any); the other pieces keep the token's tag and POS. Keeps
    `doc._.trf_data`'s token alignment in step with the split tokens.
    `text`: `doc.text`, if the caller has it (building it costs a pass over
    the tokens).
    """
    text = doc.text if text is None else text
    spans = trim_spans(text, spans)
    cuts = numpy.unique([c for start, end, _ in spans for c in (start, end)])
    pieces = split_tokens(doc, cuts, entity_tags, spans, text)
    if (pieces > 1).any():
        first = numpy.repeat(numpy.arange(len(pieces)), pieces)
        realign_transformer_data(doc, first, first + 1)
    # Every boundary is now a token boundary; "expand" only guards the invariant.
    ents = [doc.char_span(s, e, label=label, alignment_mode="expand") for s, e, label in spans]
    doc.set_ents(ents, default="outside")


def split_tokens(
    doc: Doc, cuts: Ints1d, entity_tags: Dict[str, str], spans: Sequence[CharSpan], text: Optional[str] = None
) -> Ints1d:
    """Split every token that a cut (character offset) falls strictly inside.
    A piece inside one of `spans` takes the tag `entity_tags` maps its label
    to (if any); the other pieces keep the token's tag and POS. Returns the
    number of pieces each original token became (1 if not split).
    """
    bounds = token_bounds(doc)
    cuts = numpy.asarray(cuts, dtype="int64")
    inside = numpy.searchsorted(bounds[:, 0], cuts, side="right") - 1
    valid = inside >= 0
    cuts, inside = cuts[valid], inside[valid]
    strictly_inside = (cuts > bounds[inside, 0]) & (cuts < bounds[inside, 1])
    cuts, inside = cuts[strictly_inside], inside[strictly_inside]
    pieces = numpy.ones((len(doc),), dtype="int64")
    numpy.add.at(pieces, inside, 1)
    if not cuts.size:
        return pieces
    text = doc.text if text is None else text
    with doc.retokenize() as retokenizer:
        for token_i in numpy.unique(inside).tolist():
            token = doc[token_i]
            start, end = int(bounds[token_i, 0]), int(bounds[token_i, 1])
            points = [start] + cuts[inside == token_i].tolist() + [end]
            orths = [text[a:b] for a, b in zip(points, points[1:])]
            tags = [entity_tags.get(_label_at(spans, a), token.tag_) for a in points[:-1]]
            for tag in tags:
                doc.vocab.strings.add(tag)  # the retokenizer stores tags by hash
            attrs = {"TAG": tags}
            if token.pos_:
                attrs["POS"] = [token.pos_] * len(orths)
            heads = [(token, i) for i in range(len(orths))]
            retokenizer.split(token, orths, heads=heads, attrs=attrs)
    return pieces


def realign_transformer_data(doc: Doc, first: Ints1d, end: Ints1d) -> None:
    """Keep `doc._.trf_data` in step with a retokenized Doc whose new token i
    covers the old tokens first[i] : end[i] (a split piece covers its whole
    token, a merged word all its parts): it is aligned to all their wordpieces.
    """
    trf_data = doc._.get("trf_data") if doc.has_extension("trf_data") else None
    if trf_data is None or len(first) != len(doc) or not len(doc):
        return
    lengths = to_numpy(trf_data.align.lengths).astype("int64")
    if int(end[-1]) != len(lengths):  # not the tokens this alignment was made for
        return
    rows = to_numpy(trf_data.align.dataXd).ravel()
    offsets = numpy.concatenate([[0], numpy.cumsum(lengths)])
    new_lengths = offsets[end] - offsets[first]
    align = Ragged(rows[ragged_positions(offsets[first], new_lengths)], new_lengths.astype("int32"))
    doc._.trf_data = dataclasses.replace(trf_data, align=align)


def _label_at(spans: Sequence[CharSpan], char: int) -> str:
    """The label of the span covering `char` ("" if none); spans are sorted
    and do not overlap, so a binary search finds the only candidate.
    """
    i = bisect_right(spans, (char, float("inf"), "")) - 1
    if i >= 0 and spans[i][0] <= char < spans[i][1]:
        return spans[i][2]
    return ""

def check_pipeline_order(nlp: Language, name: str) -> None:
    """Raise if a component after `name` listens to a transformer: splitting
    tokens would leave its `doc._.trf_data` out of step with the Doc.
    """
    after = nlp.pipe_names[nlp.pipe_names.index(name) + 1 :]
    for trf_name, pipe in nlp.pipeline:
        late = [c for c in getattr(pipe, "listening_components", []) if c in after]
        if late:
            raise ValueError(
                f"[{name}] must come after every component that listens to "
                f"'{trf_name}', but {late} come later in the pipeline {nlp.pipe_names}"
            )
