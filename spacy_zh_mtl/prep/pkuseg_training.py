"""Training and evaluating the pkuseg word segmenter from segmented Docs.

`spacy_pkuseg.train` reads text files with one sentence per line and words
separated by spaces; `write_pkuseg_file` writes that from the token
boundaries of Docs. The model folder it writes (features.msgpack,
weights.npz) is what `[initialize.tokenizer] pkuseg_model` expects.

Evaluation is word-level precision/recall/F1: a predicted word counts as
correct when its character span (whitespace left out) equals a gold word's,
the usual SIGHAN bakeoff measure. `load_pkuseg(user_dict="default")` loads
the model the way spaCy's ChineseTokenizer does (its default user dictionary
post-processing included), so the score is the one the pipeline gets.
"""
import contextlib
import io
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

from spacy.tokens import Doc

from ..corpora.conversion_report import ConversionReport

Segmenter = Callable[[str], List[str]]
MIN_TRAIN_SENTENCES = 10


def doc_words(doc: Doc) -> List[str]:
    """The non-whitespace words of a Doc (whitespace tokens left out)."""
    return [t.text for t in doc if not t.is_space and t.text.strip()]


def write_pkuseg_file(
    docs: Iterable[Doc], path: Union[str, Path], report: Optional[ConversionReport] = None
) -> int:
    """Write Docs in pkuseg's training format: words joined by " ", one Doc per line.

    Docs without words and words containing whitespace (pkuseg splits them)
    are counted in the report. RETURNS (int): number of lines written.
    """
    report = report if report is not None else ConversionReport("pkuseg input")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf8") as f:
        for doc in docs:
            words = doc_words(doc)
            if not words:
                report.skip("doc without words")
                continue
            for word in words:
                if len(word.split()) > 1:
                    report.repair("word containing whitespace split there by pkuseg")
            f.write(" ".join(words) + "\n")
            n += 1
            report.count("sentences")
            report.count("words", len(words))
    return n


def word_spans(words: Sequence[str]) -> Set[Tuple[int, int]]:
    """Character spans of words, counted over non-whitespace characters only."""
    spans = set()
    start = 0
    for word in words:
        length = len("".join(word.split()))
        if length:
            spans.add((start, start + length))
            start += length
    return spans


def segmentation_prf(
    gold: Iterable[Sequence[str]], pred: Iterable[Sequence[str]]
) -> Dict[str, float]:
    """Word-level P/R/F1 (0..1) of predicted against gold segmentations.

    RAISES (ValueError): A prediction covers other characters than its gold.
    """
    n_gold = n_pred = n_correct = 0
    for g_words, p_words in zip(gold, pred):
        if "".join("".join(g_words).split()) != "".join("".join(p_words).split()):
            raise ValueError(f"Segmentation of other text: {g_words!r} vs {p_words!r}")
        g, p = word_spans(g_words), word_spans(p_words)
        n_gold += len(g)
        n_pred += len(p)
        n_correct += len(g & p)
    precision = n_correct / n_pred if n_pred else 0.0
    recall = n_correct / n_gold if n_gold else 0.0
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"p": precision, "r": recall, "f": f, "n_gold": n_gold, "n_pred": n_pred}


def load_pkuseg(model_dir: Union[str, Path], user_dict: Optional[str] = "default") -> Any:
    """Load a trained pkuseg model.

    user_dict: "default" (as spaCy's ChineseTokenizer: pkuseg's default
        dictionary post-processing is on), a user dictionary file, or None
        (the model alone).
    """
    import spacy_pkuseg

    return spacy_pkuseg.pkuseg(model_name=str(model_dir), user_dict=user_dict)


def evaluate_segmenter(segment: Segmenter, docs: Iterable[Doc]) -> Dict[str, float]:
    """Word-level P/R/F1 of `segment(text)` against the Docs' tokens."""
    gold, pred = [], []
    for doc in docs:
        words = doc_words(doc)
        if not words:
            continue
        gold.append(words)
        pred.append(segment(doc.text))
    scores = segmentation_prf(gold, pred)
    scores["sentences"] = len(gold)
    return scores


def train_pkuseg(
    train_docs: Iterable[Doc],
    dev_docs: Iterable[Doc],
    model_dir: Union[str, Path],
    *,
    n_iter: int = 10,
    seed: int = 0,
    report: Optional[ConversionReport] = None,
    quiet: bool = False,
) -> float:
    """Train pkuseg with `spacy_pkuseg.train` and write the model to model_dir.

    n_iter: Training iterations (pkuseg's train_iter; pkuseg scores the dev
        file after each one, which is part of the time).
    seed: Seed for Python's `random`, which pkuseg uses to shuffle.
    quiet: Hide pkuseg's own per-iteration output.
    RETURNS (float): Training time in seconds.
    """
    import spacy_pkuseg

    report = report if report is not None else ConversionReport("pkuseg input")
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        train_file = os.path.join(tmp, "train.txt")
        dev_file = os.path.join(tmp, "dev.txt")
        n_train = write_pkuseg_file(train_docs, train_file, report)
        if n_train < MIN_TRAIN_SENTENCES:
            # pkuseg's ADF optimizer divides by len(train) // 10
            raise ValueError(
                f"pkuseg needs at least {MIN_TRAIN_SENTENCES} training sentences, got {n_train}"
            )
        if write_pkuseg_file(dev_docs, dev_file, ConversionReport("pkuseg dev input")) == 0:
            raise ValueError("No dev sentences for pkuseg")
        random.seed(seed)
        start = time.time()
        out = io.StringIO()
        with contextlib.redirect_stdout(out) if quiet else contextlib.nullcontext():
            spacy_pkuseg.train(train_file, dev_file, str(model_dir), train_iter=n_iter)
        return time.time() - start
