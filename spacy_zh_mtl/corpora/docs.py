"""Reading, writing and splitting collections of Docs."""
import random
from pathlib import Path
from typing import Iterable, List, Optional, Tuple, Union

from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab


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


def read_docs(path: Union[str, Path], vocab: Optional[Vocab] = None) -> List[Doc]:
    """Read all Docs of a .spacy file."""
    vocab = vocab if vocab is not None else Vocab()
    return list(DocBin().from_disk(path).get_docs(vocab))


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
