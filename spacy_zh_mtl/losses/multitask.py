"""The multitask loss (paper eq. 10): weighted CRF losses of NER, segmentation
and POS plus the label-consistency term, with fixed or dynamic weights.

Why the auxiliary terms need a scale: every term is summed over characters,
and the POS CRF (35 tags) and the segmentation CRF start with a much larger
loss per character than NER and stay larger, so equal weights let them
dominate the shared BiGRU and transformer (NER alone beat the full model by
12 F1 on Weibo). With `normalize`, each term is divided by its running mean
loss per character and multiplied by NER's, so before the task weights every
term pulls with the strength of the NER term and `task_weights` set each
auxiliary task's share of it directly.
"""
from typing import Dict, Iterable

import torch
from torchcrf import CRF

from ..pipeline.char_labels import CharTargets
from .consistency import consistency_loss
from .crf import crf_loss
from .dwa import DynamicWeightAverage

LOSS_TERMS = ("ner", "cws", "pos", "consistency")


class MultitaskLoss:
    """Combine the per-term losses of a step into the total to minimise."""

    def __init__(
        self,
        terms: Iterable[str],
        *,
        weighting: str,
        task_weights: Dict[str, float],
        dwa_temperature: float,
        normalize: bool,
        consistency: bool,
        momentum: float = 0.95,
    ) -> None:
        if weighting not in ("fixed", "dwa"):
            raise ValueError(f"weighting must be 'fixed' or 'dwa', got {weighting!r}")
        self.terms = list(terms)
        self.weighting = weighting
        self.task_weights = check_task_weights(task_weights)
        self.normalize = normalize
        self.consistency = consistency
        self.momentum = momentum
        self.dwa = DynamicWeightAverage(self.terms, dwa_temperature)
        self.per_char: Dict[str, float] = {}

    def terms_of(
        self, emissions: Dict[str, torch.Tensor], crfs: Dict[str, CRF], targets: CharTargets
    ) -> Dict[str, torch.Tensor]:
        """Each term's loss for a batch, summed over the characters that carry
        its gold; terms without gold in the batch are left out.

        emissions: task -> (batch, steps, n_tags) scores; crfs: task -> CRF.
        """
        some_scores = next(iter(emissions.values()))
        device = some_scores.device

        def tensor(array):
            return torch.from_numpy(array).to(device)

        lengths = tensor(targets.lengths)
        mask = torch.arange(some_scores.shape[1], device=device)[None, :] < lengths[:, None]
        terms: Dict[str, torch.Tensor] = {}
        for task, crf in crfs.items():
            available = tensor(targets.available[task])
            if not available.any():
                continue
            cost = targets.ner_cost if task == "ner" else None
            terms[task] = crf_loss(
                crf,
                emissions[task][available],
                tensor(targets.gold[task])[available],
                mask[available],
                tensor(cost)[available] if cost is not None else None,
            )
        available = tensor(targets.available["consistency"])
        if self.consistency and available.any():
            terms["consistency"] = sum(
                consistency_loss(emissions[task][available], tensor(gold)[available])
                for task, gold in targets.consistency.items()
            )
        return terms

    def weights(self) -> Dict[str, float]:
        """The weight of each term for the next step (before normalisation)."""
        dynamic = self.dwa.weights() if self.weighting == "dwa" else {}
        return {term: self.task_weights[term] * dynamic.get(term, 1.0) for term in self.terms}

    def scales(self) -> Dict[str, float]:
        """Per-term normalisation factors: NER's mean loss per character over
        the term's (1.0 until both have been seen, and without `normalize`)."""
        ner = self.per_char.get("ner")
        if not self.normalize or not ner:
            return {term: 1.0 for term in self.terms}
        return {
            term: ner / self.per_char[term] if self.per_char.get(term) else 1.0
            for term in self.terms
        }

    def total(self, losses: Dict[str, torch.Tensor]) -> torch.Tensor:
        """The weighted sum of this step's term losses (summed over characters)."""
        weights, scales = self.weights(), self.scales()
        return sum(weights[term] * scales[term] * value for term, value in losses.items())

    def record(self, losses: Dict[str, torch.Tensor], n_chars: Dict[str, int]) -> Dict[str, float]:
        """Update DWA's history and the running per-character means after a
        step; return the step's term values as floats."""
        values = {term: float(value.detach()) for term, value in losses.items()}
        self.dwa.record(values)
        for term, value in values.items():
            if n_chars.get(term):
                mean = value / n_chars[term]
                old = self.per_char.get(term)
                self.per_char[term] = mean if old is None else self.momentum * old + (1 - self.momentum) * mean
        return values


def check_task_weights(weights: Dict[str, float]) -> Dict[str, float]:
    """All four term weights (missing ones 1.0), validated."""
    unknown = [term for term in weights if term not in LOSS_TERMS]
    if unknown:
        raise ValueError(f"task_weights: unknown term(s) {unknown}; choose from {list(LOSS_TERMS)}")
    negative = {term: w for term, w in weights.items() if w < 0}
    if negative:
        raise ValueError(f"task_weights must be >= 0, got {negative}")
    return {term: float(weights.get(term, 1.0)) for term in LOSS_TERMS}

