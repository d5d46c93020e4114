"""The torch part of the model: shared BiGRU, per-task emissions, a CRF per task,
and the optional word tower."""
from typing import Dict, Optional

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence
from torchcrf import CRF

from ..losses.targets import WORD_TERMS
from .int8 import run_gru


class MultitaskCrfHead(nn.Module):
    """BiGRU over character vectors shared by all tasks, then one linear
    emission layer and one CRF (pytorch-crf) per task. `input_dropout` drops
    feature values before the BiGRU, `dropout` its outputs. With
    `hidden_size` 0 there is no shared BiGRU: the emission layers read the
    (dropped-out) features directly.

    The word tower (`n_word_in` > 0): the last `n_word_in` columns of the
    input are a second encoder's features. A BiGRU of `word_hidden_size`
    (0: none) reads them beside the shared features, which it gets without
    passing a gradient back, and feeds the tasks "words" and "tags" (the
    segmentation and POS that joint mode writes). The shared BiGRU then serves
    NER and its auxiliary tasks alone, so training the written words and tags
    does not pull the entities' encoder. Given the shared features alone
    (`n_in` columns), the tower is skipped and its tasks' emissions are zeros.

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
        n_word_in: int = 0,
        word_hidden_size: int = 0,
    ) -> None:
        super().__init__()
        word_tasks = [task for task in task_sizes if task in WORD_TERMS]
        if bool(word_tasks) != bool(n_word_in):
            raise ValueError(
                f"the word tower's tasks {list(WORD_TERMS)} need its features and the other way "
                f"round: tasks {list(task_sizes)}, {n_word_in} word-tower feature columns"
            )
        self.task_sizes = dict(task_sizes)
        self.n_in = n_in
        self.input_dropout = nn.Dropout(input_dropout)
        self.gru = (
            nn.GRU(n_in, hidden_size, batch_first=True, bidirectional=True) if hidden_size else None
        )
        n_tower_in = n_in + n_word_in
        self.word_gru = (
            nn.GRU(n_tower_in, word_hidden_size, batch_first=True, bidirectional=True)
            if n_word_in and word_hidden_size
            else None
        )
        self.dropout = nn.Dropout(dropout)
        self.int8 = False  # see models.int8
        n_hidden = 2 * hidden_size if hidden_size else n_in
        n_word_hidden = 2 * word_hidden_size if word_hidden_size else n_tower_in
        self.emitters = nn.ModuleDict(
            {
                task: nn.Linear(n_word_hidden if task in WORD_TERMS else n_hidden, size)
                for task, size in task_sizes.items()
            }
        )
        self.crfs = nn.ModuleDict(
            {task: CRF(size, batch_first=True) for task, size in task_sizes.items()}
        )

    def forward(self, data: torch.Tensor, batch_sizes: torch.Tensor) -> torch.Tensor:
        """data, batch_sizes: the character features as a packed sequence's
        (`torch_sequences.pack_ragged`). Returns the emission scores of all
        tasks, (characters, sum of task sizes), in the same packed order."""
        features = self.input_dropout(data)
        shared = features[:, : self.n_in]
        hidden = shared
        if self.gru is not None:
            hidden = run_gru(self, self.gru, PackedSequence(shared, batch_sizes)).data
        hidden = self.dropout(hidden)
        word_hidden = None  # the tower's input is left out where its output is not needed
        if features.shape[1] > self.n_in:
            word_hidden = torch.cat([shared.detach(), features[:, self.n_in :]], dim=-1)
            if self.word_gru is not None:
                word_hidden = run_gru(self, self.word_gru, PackedSequence(word_hidden, batch_sizes)).data
            word_hidden = self.dropout(word_hidden)
        return torch.cat([self.emit(task, hidden, word_hidden) for task in self.emitters], dim=-1)

    def emit(self, task: str, hidden: torch.Tensor, word_hidden: Optional[torch.Tensor]) -> torch.Tensor:
        """One task's emission scores; zeros for a word-tower task without its input."""
        if task not in WORD_TERMS:
            return self.emitters[task](hidden)
        if word_hidden is None:
            return hidden.new_zeros((hidden.shape[0], self.task_sizes[task]))
        return self.emitters[task](word_hidden)
