"""Dynamic weight averaging of task losses (paper eq. 12)."""
from collections import deque
from typing import Deque, Dict, Iterable

import numpy


class DynamicWeightAverage:
    """w_i(t) = N exp(r_i(t-1)/T) / sum_n exp(r_n(t-1)/T), with
    r_n(t-1) = L_n(t-1) / L_n(t-2): a task whose loss falls more slowly gets
    more weight. The weights sum to N; with fewer than two recorded steps, or a
    loss that was zero (no annotation for the task in that batch), r is 1.
    """

    def __init__(self, tasks: Iterable[str], temperature: float) -> None:
        if temperature <= 0:
            raise ValueError(f"dwa_temperature must be > 0, got {temperature}")
        self.tasks = list(tasks)
        self.temperature = temperature
        self.history: Deque[Dict[str, float]] = deque(maxlen=2)

    def weights(self) -> Dict[str, float]:
        """The weights for the next step."""
        ratios = numpy.ones((len(self.tasks),))
        if len(self.history) == 2:
            before, last = self.history
            for i, task in enumerate(self.tasks):
                if before.get(task, 0.0) > 0 and last.get(task, 0.0) > 0:
                    ratios[i] = last[task] / before[task]
        logits = ratios / self.temperature
        exp = numpy.exp(logits - logits.max())
        weights = len(self.tasks) * exp / exp.sum()
        return dict(zip(self.tasks, weights.tolist()))

    def record(self, losses: Dict[str, float]) -> None:
        """Add one step's task losses to the history."""
        self.history.append({task: float(losses.get(task, 0.0)) for task in self.tasks})
