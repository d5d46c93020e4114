"""Counting what a conversion repaired, skipped or stopped on.

Every reader in `spacy_zh_mtl.corpora` takes a `ConversionReport` and records
each repair and each skipped item with a reason, plus the first few places
(`file:line`) where it happened. Problems that cannot be repaired safely raise
`CorpusFormatError` ("file:line: reason") unless the reader was asked to skip
them (`on_error="skip"`), in which case the item is skipped and counted.
Nothing is dropped without a count.
"""
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Union

from wasabi import Printer, msg as default_printer

OnError = Literal["stop", "skip"]
ON_ERROR_VALUES = ("stop", "skip")
MAX_EXAMPLES = 3
# messages quote at most this many characters of a line or a value, so that
# an error on a very long line stays readable
MAX_QUOTE = 200


class CorpusFormatError(ValueError):
    """A corpus line that cannot be read. str(err) is "file:line: reason"."""

    def __init__(self, path: Union[str, Path], line: Optional[int], reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


def quote(value: object, limit: int = MAX_QUOTE) -> str:
    """repr() of a value from the corpus, cut to `limit` characters of its text."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(value) if isinstance(value, str) else text
    return f"{text[:limit]!r}… ({len(text):,} characters)"


def where(path: Union[str, Path], line: Optional[int]) -> str:
    """Format a location as "file:line"."""
    return f"{path}:{line}" if line is not None else str(path)


@dataclass
class ConversionReport:
    """Counts of one conversion: totals, repairs and skips, with reasons.

    name (str): What was converted, used as the heading when printing.
    counts (Counter): Totals such as "sentences", "tokens", "entities".
    repaired (Counter): Number of repairs per reason.
    skipped (Counter): Number of skipped items per reason.
    examples (Dict[str, List[str]]): The first places ("file:line") per reason.
    labels (Counter): Entity (or tag) label counts of the output.
    notes (Dict[str, str]): What the reader decided, e.g. {"scheme": "BMES"}.

    NER readers also count "entities read" (in the source), "entities"
    (kept in the output), "entities repaired" and "entities dropped"; the
    reasons are in repaired/skipped.
    """

    name: str = "conversion"
    counts: Counter = field(default_factory=Counter)
    repaired: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    examples: Dict[str, List[str]] = field(default_factory=dict)
    labels: Counter = field(default_factory=Counter)
    notes: Dict[str, str] = field(default_factory=dict)

    def count(self, key: str, n: int = 1) -> None:
        """Add n to a total."""
        self.counts[key] += n

    def repair(self, reason: str, location: Optional[str] = None, n: int = 1) -> None:
        """Record a repair (the item was kept in a corrected form)."""
        self.repaired[reason] += n
        self._example(reason, location)

    def skip(self, reason: str, location: Optional[str] = None, n: int = 1) -> None:
        """Record a skipped item (it is not in the output)."""
        self.skipped[reason] += n
        self._example(reason, location)

    def _example(self, reason: str, location: Optional[str]) -> None:
        if location is None:
            return
        places = self.examples.setdefault(reason, [])
        if len(places) < MAX_EXAMPLES:
            places.append(location)

    def error(
        self,
        on_error: OnError,
        path: Union[str, Path],
        line: Optional[int],
        reason: str,
        item: str = "sentence",
    ) -> None:
        """Raise CorpusFormatError, or with on_error="skip" count the skipped item.

        The caller must skip the item when this returns.
        """
        if on_error == "stop":
            raise CorpusFormatError(path, line, reason)
        if on_error != "skip":
            raise ValueError(f"on_error must be one of {ON_ERROR_VALUES}, not {on_error!r}")
        self.skip(f"{item} skipped: {reason}", where(path, line))

    def merge(self, other: "ConversionReport") -> None:
        """Add the counts of another report to this one."""
        self.counts.update(other.counts)
        self.repaired.update(other.repaired)
        self.skipped.update(other.skipped)
        self.labels.update(other.labels)
        self.notes.update(other.notes)
        for reason, places in other.examples.items():
            for place in places:
                self._example(reason, place)

    @property
    def n_repaired(self) -> int:
        return sum(self.repaired.values())

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    def to_dict(self) -> Dict[str, Any]:
        """Serialize to a JSON-friendly dict."""
        return {
            "name": self.name,
            "counts": dict(self.counts),
            "labels": dict(sorted(self.labels.items())),
            "repaired": dict(self.repaired),
            "skipped": dict(self.skipped),
            "examples": self.examples,
            "notes": self.notes,
        }

    def print(self, printer: Optional[Printer] = None) -> None:
        """Print the totals, every repair and every skip (always, also when 0)."""
        p = printer if printer is not None else default_printer
        p.divider(self.name)
        entity_line = "entities read" in self.counts
        totals = ", ".join(
            f"{k}: {v:,}" for k, v in self.counts.items()
            if not (entity_line and k in ("entities read", "entities repaired", "entities dropped"))
        )
        p.info(totals if totals else "nothing read")
        for key, value in self.notes.items():
            p.text(f"{key}: {value}")
        if entity_line:
            c = self.counts
            p.text(
                f"entities read {c['entities read']:,}, kept {c['entities']:,}, "
                f"repaired {c['entities repaired']:,}, dropped {c['entities dropped']:,} "
                "(reasons below)"
            )
        if self.labels:
            p.text("labels: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.labels.items())))
        for title, counter, show in (
            ("repaired", self.repaired, p.warn),
            ("skipped", self.skipped, p.warn),
        ):
            if not counter:
                p.good(f"{title}: 0")
                continue
            show(f"{title}: {sum(counter.values()):,}")
            for reason, n in counter.most_common():
                places = self.examples.get(reason, [])
                suffix = f" (e.g. {', '.join(places)})" if places else ""
                p.text(f"  {n:>7,}  {reason}{suffix}")
