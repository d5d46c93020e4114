"""CRF negative log-likelihood with optional per-character cost (softmax-margin)."""
from typing import Optional

import torch
from torchcrf import CRF


def crf_loss(
    crf: CRF,
    emissions: torch.Tensor,
    tags: torch.Tensor,
    mask: torch.Tensor,
    cost: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Summed negative log-likelihood of `tags` under `crf`.

    emissions: (batch, steps, n_tags); tags, mask: (batch, steps); mask[:, 0]
    must be true. `cost` (batch, steps) is the softmax-margin cost of giving a
    character any tag but its gold one: the partition function is computed
    over emissions raised by that cost for every wrong tag, so mistakes on
    costly characters are penalised more. Zero cost is the plain CRF loss.
    """
    if cost is not None:
        wrong = torch.ones_like(emissions).scatter_(-1, tags.unsqueeze(-1), 0.0)
        emissions = emissions + cost.unsqueeze(-1) * wrong
    return -crf(emissions, tags, mask=mask, reduction="sum")
