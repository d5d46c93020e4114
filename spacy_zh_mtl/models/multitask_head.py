"""The torch part of the model: shared BiGRU, per-task emissions, a CRF per task."""
from typing import Dict

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
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

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """features: (batch, max_chars, n_in); lengths: (batch,) characters per doc,
        decreasing (`torch_sequences.pad_ragged` sorts the batch).
        Returns (batch, max_chars, sum of task sizes) emission scores.
        """
        # the emission layers run on the packed characters only, not on padding
        packed = pack_padded_sequence(
            self.input_dropout(features), lengths.cpu(), batch_first=True, enforce_sorted=True
        )
        if self.gru is not None:
            packed = run_gru(self, self.gru, packed)
        hidden = self.dropout(packed.data)
        emissions = torch.cat([emit(hidden) for emit in self.emitters.values()], dim=-1)
        padded, _ = pad_packed_sequence(
            packed._replace(data=emissions), batch_first=True, total_length=features.shape[1]
        )
        return padded
