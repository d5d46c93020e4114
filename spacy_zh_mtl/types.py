"""Types shared by the corpus readers and the pipeline."""
from typing import Tuple

# An entity as character offsets into a text: (start, end_exclusive, label).
CharSpan = Tuple[int, int, str]
