"""Reading, writing and splitting collections of Docs."""
import random
import zlib
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Tuple, Union

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab

from .conversion_report import ConversionReport, CorpusFormatError, OnError
from .spans import LabelMap, map_labels


def write_docs(docs: Iterable[Doc], path: Union[str, Path]) -> int:
    """Write Docs to a .spacy file (parents created). RETURNS (int): number written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = DocBin(store_user_data=False)
    n = 0
    for doc in docs:
        db.add(doc)
        n += 1
    db.to_disk(path)
    return n


def load_docbin(path: Union[str, Path]) -> DocBin:
    """Read a .spacy file. RAISES (CorpusFormatError): not a DocBin."""
    try:
        return DocBin().from_disk(path)
    except (zlib.error, ValueError, KeyError, TypeError) as err:
        # zlib or msgpack could not read it: text, or another binary format
        # spaCy's own message (E1014) points to its v2 JSON format, which is not the likely cause here
        raise CorpusFormatError(
            path, None, f"not a spaCy DocBin (.spacy) file ({type(err).__name__}); give the format the file is in"
        ) from None


def read_docs(path: Union[str, Path], vocab: Optional[Vocab] = None) -> List[Doc]:
    """Read all Docs of a .spacy file."""
    vocab = vocab if vocab is not None else Vocab()
    return list(load_docbin(path).get_docs(vocab))


def split_docs(
    docs: List[Doc], dev_fraction: float, seed: int = 0
) -> Tuple[List[Doc], List[Doc]]:
    """Split Docs into (train, dev), deterministically for a seed.

    dev_fraction: Share of Docs for dev, 0 <= f < 1; at least one Doc goes to
        dev when f > 0 and there are two Docs or more. Order is kept in both.
    """
    if not 0 <= dev_fraction < 1:
        raise ValueError(f"dev_fraction must be in [0, 1), not {dev_fraction}")
    n_dev = round(len(docs) * dev_fraction)
    if dev_fraction > 0 and len(docs) >= 2:
        n_dev = max(1, n_dev)
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    dev_ids = set(order[:n_dev])
    train = [d for i, d in enumerate(docs) if i not in dev_ids]
    dev = [d for i, d in enumerate(docs) if i in dev_ids]
    return train, dev


def docbin_to_docs(
    path: Union[str, Path],
    vocab: Vocab,
    report: ConversionReport,
    *,
    label_map: LabelMap = None,
    on_error: OnError = "stop",
) -> Iterator[Doc]:
    """Read a .spacy file as it is (its tokens kept), relabelling entities.

    Docs are numbered from 1 in messages ("file:doc number").
    """
    for i, doc in enumerate(load_docbin(path).get_docs(vocab), start=1):
        spans = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        report.count("entities read", len(spans))
        if label_map is not None:
            try:
                mapped = map_labels(spans, label_map, report, f"{path}:doc {i}")
            except ValueError as err:
                report.error(on_error, path, i, str(err), item="doc")
                report.count("entities dropped", len(spans))
                continue
            doc.set_ents(
                [doc.char_span(s, e, label=label) for s, e, label in mapped],
                default="outside" if doc.has_annotation("ENT_IOB") else "unmodified",
            )
        report.count("sentences")
        report.count("tokens", len(doc))
        report.count("entities", len(doc.ents))
        report.labels.update(ent.label_ for ent in doc.ents)
        yield doc
