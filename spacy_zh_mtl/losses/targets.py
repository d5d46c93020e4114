"""What the losses are computed against: the loss terms, the padded gold of a
batch, and the marker for characters without a target.

Below both `pipeline/` (which builds targets from reference Docs) and the loss
modules (which read them), so neither imports the other.
"""
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

import numpy
from thinc.types import Ints1d

# the word tower's terms (`models.multitask_head`) and the task whose gold
# each learns: the segmentation and POS of a second encoder, for joint mode
WORD_TERMS = {"words": "cws", "tags": "pos"}
LOSS_TERMS = ("ner", "cws", "pos", "consistency", *WORD_TERMS)
# a character without a target (cross-entropy's ignore_index)
IGNORE = -100


@dataclass
class CharTargets:
    """Padded (batch, steps) gold tag ids per task for a batch of reference
    Docs, whether each Doc has the task's annotation, the NER cost per
    character, and the consistency targets (IGNORE where there is none).
    """

    lengths: Ints1d
    gold: Dict[str, numpy.ndarray] = field(default_factory=dict)
    available: Dict[str, numpy.ndarray] = field(default_factory=dict)
    ner_cost: Optional[numpy.ndarray] = None
    consistency: Dict[str, numpy.ndarray] = field(default_factory=dict)

    def n_chars(self, task: str) -> int:
        """Characters that carry `task`'s gold in this batch."""
        return int(self.lengths[self.available[task]].sum())


def split_by_task(emissions: Any, task_sizes: Mapping[str, int]) -> Dict[str, Any]:
    """Per-task views of the model's emissions (numpy, cupy or torch), whose
    last axis holds every task's scores side by side in `task_sizes` order."""
    by_task, start = {}, 0
    for task, size in task_sizes.items():
        by_task[task] = emissions[..., start : start + size]
        start += size
    return by_task
