"""The multitask loss (paper eq. 10): weighted CRF losses of NER, segmentation
and POS plus the label-consistency term, with fixed or dynamic weights.

Why the auxiliary terms need a scale: every term is summed over characters,
and the POS CRF (dozens of tags) and the segmentation CRF start with a much larger
loss per character than NER and stay larger, so equal weights let them
dominate the shared encoder. With `normalize`, each term is divided by its
running mean loss per character and multiplied by NER's, so before the task
weights every term pulls with the strength of the NER term and `task_weights`
set each auxiliary task's share of it directly.

The component calls it with arrays (the model's emissions, numpy or cupy) and
gets arrays back; torch stays in this module and the CRF layers.
"""
from dataclasses import dataclass
from typing import Dict, Iterable, Mapping

import torch
from thinc.api import torch2xp, xp2torch
from thinc.types import Floats3d
from torchcrf import CRF

from .consistency import consistency_loss
from .crf import crf_loss
from .dwa import DynamicWeightAverage
from .targets import CharTargets, split_by_task


@dataclass
class LossResult:
    """One step's weighted total, its gradient for the emissions, each
    term's (unweighted) loss and the characters each term covered."""

    total: float
    d_emissions: Floats3d
    terms: Dict[str, float]
    term_chars: Dict[str, int]


class MultitaskLoss:
    """Combine the per-term losses of a step into the total to minimise.
    The settings are validated by the component's `MultitaskSettings`."""

    def __init__(
        self,
        terms: Iterable[str],
        *,
        weighting: str,
        task_weights: Mapping[str, float],
        dwa_temperature: float,
        normalize: bool,
        momentum: float = 0.95,
    ) -> None:
        self.terms = list(terms)
        self.weighting = weighting
        self.task_weights = dict(task_weights)
        self.normalize = normalize
        self.momentum = momentum
        self.dwa = DynamicWeightAverage(self.terms, dwa_temperature)
        self.per_char: Dict[str, float] = {}

    def __call__(
        self,
        emissions: Floats3d,
        task_sizes: Mapping[str, int],
        crfs: Mapping[str, CRF],
        targets: CharTargets,
    ) -> LossResult:
        """The weighted total of a batch and its gradient. `emissions`: the
        model's (batch, steps, sum of task sizes) output; `task_sizes` its
        layout; `crfs` each task's CRF (its transitions get their gradients
        here). Terms without gold in the batch are left out."""
        scores = xp2torch(emissions, requires_grad=True)
        terms = self.terms_of(split_by_task(scores, task_sizes), crfs, targets)
        if not terms:
            d_zero = torch2xp(torch.zeros_like(scores))
            return LossResult(0.0, d_zero, {}, {})
        total = self.total(terms)
        total.backward()
        return LossResult(
            float(total.detach()),
            torch2xp(scores.grad),
            {term: float(value.detach()) for term, value in terms.items()},
            {term: targets.n_chars(term) for term in terms},
        )

    def terms_of(
        self, emissions: Dict[str, torch.Tensor], crfs: Mapping[str, CRF], targets: CharTargets
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
        if "consistency" in self.terms and available.any():
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

    def record(self, values: Dict[str, float], n_chars: Dict[str, int]) -> None:
        """Update DWA's history and the running per-character means after a step."""
        self.dwa.record(values)
        for term, value in values.items():
            if n_chars.get(term):
                mean = value / n_chars[term]
                old = self.per_char.get(term)
                self.per_char[term] = mean if old is None else self.momentum * old + (1 - self.momentum) * mean

