"""Label-consistency loss (paper eq. 11).

On the characters inside gold entities, each auxiliary decoder is trained
towards the labels the entity implies: segmentation B at an entity's first
character, E at its last (S for a one-character entity), and the POS tag the
entity label maps to on every character. Other characters are ignored.
"""
import torch
import torch.nn.functional as F

from .targets import IGNORE


def consistency_loss(emissions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Summed -log p(target) over characters whose target is not IGNORE, with
    p the softmax of the decoder's emission scores.

    emissions: (batch, steps, n_tags); targets: (batch, steps) tag ids or IGNORE.
    """
    return F.cross_entropy(
        emissions.reshape(-1, emissions.shape[-1]),
        targets.reshape(-1),
        ignore_index=IGNORE,
        reduction="sum",
    )
