"""The torch part of the model: shared BiGRU, per-task emissions, a CRF per task."""
from typing import Dict

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence
from torchcrf import CRF

from .int8 import run_gru


class MultitaskCrfHead(nn.Module):
    """BiGRU over character vectors shared by all tasks, then one linear
    emission layer and one CRF (pytorch-crf) per task. `input_dropout` drops
    feature values before the BiGRU, `dropout` its outputs. With
    `hidden_size` 0 there is no shared BiGRU: the emission layers read the
    (dropped-out) features directly.

    `forward` returns the emissions of all tasks concatenated along the last
    axis, in the order of `task_sizes`; the CRFs are used by the losses and the
    decoder, which read their transition scores.
    """

    def __init__(
        self,
        n_in: int,
        hidden_size: int,
        task_sizes: Dict[str, int],
        dropout: float,
        input_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.task_sizes = dict(task_sizes)
        self.input_dropout = nn.Dropout(input_dropout)
        self.gru = (
            nn.GRU(n_in, hidden_size, batch_first=True, bidirectional=True) if hidden_size else None
        )
        self.dropout = nn.Dropout(dropout)
        self.int8 = False  # see models.int8
        n_hidden = 2 * hidden_size if hidden_size else n_in
        self.emitters = nn.ModuleDict(
            {task: nn.Linear(n_hidden, size) for task, size in task_sizes.items()}
        )
        self.crfs = nn.ModuleDict(
            {task: CRF(size, batch_first=True) for task, size in task_sizes.items()}
        )

    def forward(self, data: torch.Tensor, batch_sizes: torch.Tensor) -> torch.Tensor:
        """data, batch_sizes: the character features as a packed sequence's
        (`torch_sequences.pack_ragged`). Returns the emission scores of all
        tasks, (characters, sum of task sizes), in the same packed order."""
        hidden = self.input_dropout(data)
        if self.gru is not None:
            hidden = run_gru(self, self.gru, PackedSequence(hidden, batch_sizes)).data
        hidden = self.dropout(hidden)
        return torch.cat([emit(hidden) for emit in self.emitters.values()], dim=-1)
