"""Pre-annotation of NER corpora (method step 1; paper 000, section 3.1).

Each NER Doc gets words from a segmenter and tags from a POS tagger, aligned
to its gold entities so that entity boundaries win:

1. segment the text (`segment(text) -> words`, e.g. the project's pkuseg);
2. re-cut: a word that crosses an entity boundary is split there; with
   merge_entities=True (the paper's choice) the words inside an entity are
   merged into one word, so 王/小/明 inside PER 王小明 becomes 王小明 and
   its characters get the segmentation labels B I E;
3. tag the final words (`tag(docs) -> docs`, e.g. a spaCy tagger pipeline),
   so the pieces of a split word get their own tags;
4. every token inside an entity takes the tag its label maps to (by default
   the proper-noun tag of the tagger's tag set: NR, NNP or PROPN, as the
   zh_mtl_ner component assumes).

The output Docs have words, `token.tag_` and all gold entities, ENT_IOB set
on every token. Counts: words split, entities merged, entities kept (all of
them: losing one raises), tags changed by entities, tag distribution.
"""
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

from spacy.tokens import Doc
from spacy.util import get_words_and_spaces
from spacy.vocab import Vocab

Segment = Callable[[str], Sequence[str]]
Tag = Callable[[Iterable[Doc]], Iterable[Doc]]


@dataclass
class PreannotationStats:
    """Counts of a pre-annotation run.

    sentences, entities: Docs and entities read (all entities are kept).
    segmenter_words: Words from the segmenter (whitespace left out).
    tokens: Tokens written.
    words_split: Segmenter words that crossed an entity boundary and were split.
    split_pieces: Extra tokens those splits made.
    entities_merged: Entities that covered more than one word and were merged.
    words_merged: Words (after splitting) that went into merged entities.
    entity_tags_changed: Entity tokens whose tagger tag was replaced.
    tags: Tag distribution of the output tokens.
    """

    sentences: int = 0
    entities: int = 0
    entities_kept: int = 0
    segmenter_words: int = 0
    tokens: int = 0
    words_split: int = 0
    split_pieces: int = 0
    entities_merged: int = 0
    words_merged: int = 0
    entity_tags_changed: int = 0
    tags: Counter = field(default_factory=Counter)
    labels: Counter = field(default_factory=Counter)

    def to_dict(self) -> Dict[str, object]:
        data = {k: v for k, v in self.__dict__.items() if not isinstance(v, Counter)}
        data["tags"] = dict(self.tags.most_common())
        data["labels"] = dict(sorted(self.labels.items()))
        return data


def word_bounds(words: Sequence[str], text: str) -> List[Tuple[int, int]]:
    """Character spans of non-whitespace words in text.

    RAISES (ValueError): The words do not match the text.
    """
    aligned, spaces = get_words_and_spaces([w for w in words if w.strip()], text)
    bounds = []
    offset = 0
    for word, space in zip(aligned, spaces):
        if word.strip():
            bounds.append((offset, offset + len(word)))
        offset += len(word) + int(space)
    return bounds


def recut(
    text: str,
    words: Sequence[str],
    entities: Sequence[Tuple[int, int]],
    *,
    merge_entities: bool = True,
    stats: Optional[PreannotationStats] = None,
) -> List[Tuple[int, int]]:
    """Re-cut a segmentation so that entity boundaries win.

    text: The text.
    words: The segmenter's words for it (whitespace may be left out).
    entities: (start, end) character offsets, end exclusive, not overlapping.
    merge_entities: Make each entity one word.
    RETURNS (List[Tuple[int, int]]): Character spans of the new words.
    """
    stats = stats if stats is not None else PreannotationStats()
    bounds = word_bounds(words, text)
    stats.segmenter_words += len(bounds)
    ent_cuts: Set[int] = {b for span in entities for b in span}
    spans: List[Tuple[int, int]] = []
    for start, end in bounds:
        inner = sorted(c for c in ent_cuts if start < c < end)
        if inner:
            stats.words_split += 1
            stats.split_pieces += len(inner)
        cuts = [start, *inner, end]
        spans.extend(zip(cuts[:-1], cuts[1:]))
    if not merge_entities:
        return spans
    merged: List[Tuple[int, int]] = []
    ents = sorted(entities)
    i = 0
    for ent_start, ent_end in ents:
        while i < len(spans) and spans[i][1] <= ent_start:
            merged.append(spans[i])
            i += 1
        inside = []
        while i < len(spans) and spans[i][0] < ent_end:
            inside.append(spans[i])
            i += 1
        if len(inside) > 1:
            stats.entities_merged += 1
            stats.words_merged += len(inside)
        if inside:
            merged.append((inside[0][0], inside[-1][1]))
    merged.extend(spans[i:])
    return merged


def _build_doc(vocab: Vocab, text: str, spans: List[Tuple[int, int]]) -> Doc:
    pieces = [piece for s, e in spans for piece in text[s:e].split()]
    words, spaces = get_words_and_spaces(pieces, text)
    return Doc(vocab, words=words, spaces=spaces)


def preannotate_docs(
    docs: Iterable[Doc],
    segment: Segment,
    tag: Tag,
    vocab: Vocab,
    *,
    entity_tags: Optional[Dict[str, str]] = None,
    default_entity_tag: Optional[str] = None,
    merge_entities: bool = True,
    stats: Optional[PreannotationStats] = None,
    batch_size: int = 256,
) -> Iterator[Doc]:
    """Pre-annotate NER Docs: words, tags and the gold entities.

    docs: NER Docs (any tokenization, e.g. one token per character).
    segment: Text -> words.
    tag: Docs -> the same Docs with token.tag_ set (e.g. `nlp.pipe`).
    vocab: Vocab of the output Docs (use the tagger's).
    entity_tags: Tag per entity label; labels not in it get default_entity_tag.
    default_entity_tag: Tag of entity tokens (None: keep the tagger's tags).
    merge_entities: Merge the words inside an entity into one word.
    stats: Filled with counts.
    YIELDS (Doc): Docs with words, tags and entities (ENT_IOB set on every token).
    """
    stats = stats if stats is not None else PreannotationStats()
    entity_tags = entity_tags or {}
    batch: List[Tuple[Doc, List[Tuple[int, int, str]]]] = []

    def flush() -> Iterator[Doc]:
        tagged = list(tag([new for new, _ in batch]))
        for doc, (_, ents) in zip(tagged, batch):
            yield _finish(doc, ents, entity_tags, default_entity_tag, stats)
        batch.clear()

    for doc in docs:
        ents = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        spans = recut(
            doc.text, segment(doc.text), [(s, e) for s, e, _ in ents],
            merge_entities=merge_entities, stats=stats,
        )
        batch.append((_build_doc(vocab, doc.text, spans), ents))
        stats.sentences += 1
        stats.entities += len(ents)
        if len(batch) >= batch_size:
            yield from flush()
    if batch:
        yield from flush()


def _finish(
    doc: Doc,
    ents: List[Tuple[int, int, str]],
    entity_tags: Dict[str, str],
    default_entity_tag: Optional[str],
    stats: PreannotationStats,
) -> Doc:
    spans = []
    for start, end, label in ents:
        span = doc.char_span(start, end, label=label)
        if span is None:
            raise ValueError(f"Entity {label} [{start}, {end}) lost in pre-annotation of {doc.text!r}")
        spans.append(span)
        ent_tag = entity_tags.get(label, default_entity_tag)
        if ent_tag is not None:
            for token in span:
                if token.tag_ != ent_tag:
                    stats.entity_tags_changed += 1
                    token.tag_ = ent_tag
    doc.set_ents(spans, default="outside")
    stats.entities_kept += len(doc.ents)
    stats.labels.update(e.label_ for e in doc.ents)
    stats.tokens += len(doc)
    stats.tags.update(t.tag_ for t in doc)
    return doc
