"""Time named package functions inside a run of the public API with cProfile.

A stage is a label and a dotted function path ("module:Qualified.name"). The
profile's cumulative time of that function is the stage's time. A path that
does not import, or a function the run never called, raises: a rename in the
package cannot silently drop a stage from the timings.
"""
import cProfile
import importlib
import inspect
import json
import pstats
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple


@dataclass(frozen=True)
class Stage:
    """A timed function; with `architecture`, only in components whose config uses it."""

    label: str
    path: str
    architecture: Optional[str] = None


# Stages inside a zh_mtl_ner component (labels as in docs/results.md).
ZH_MTL_NER_STAGES: List[Stage] = [
    Stage("ner: predict (total)", "spacy_zh_mtl.pipeline.zh_mtl_ner:ZhMtlNer.predict"),
    Stage("ner:   wordpieces -> characters", "spacy_zh_mtl.models.wordpiece_features:forward",
          "spacy_zh_mtl.WordpieceListener.v1"),
    Stage("ner:   char_alignment (spacy-alignments, numpy)", "spacy_zh_mtl.models.wordpiece_alignment:batch_char_alignment",
          "spacy_zh_mtl.WordpieceListener.v1"),
    Stage("ner:   character vector lookup (CharVectors, LAC's table)", "spacy_zh_mtl.models.char_vectors:forward",
          "spacy_zh_mtl.CharVectors.v1"),
    Stage("ner:   LAC encoder (embeddings + 2-layer BiGRU, torch)", "spacy_zh_mtl.models.lac_encoder:forward",
          "spacy_zh_mtl.LacStates.v1"),
    Stage("ner:   lexicon matches (jieba dictionary)", "spacy_zh_mtl.models.lexicon_features:forward",
          "spacy_zh_mtl.LexiconFeatures.v1"),
    Stage("ner:   BiGRU + linear emissions (torch forward)",
          "spacy_zh_mtl.models.multitask_head:MultitaskCrfHead.forward"),
    Stage("ner:   CRF Viterbi (models/viterbi.py)", "spacy_zh_mtl.models.viterbi:viterbi_decode"),
    Stage("ner: set_annotations (total)", "spacy_zh_mtl.pipeline.zh_mtl_ner:ZhMtlNer.set_annotations"),
    Stage("ner:   tag ids -> spans (EntityTagScheme.decode)",
          "spacy_zh_mtl.pipeline.char_labels:EntityTagScheme.decode"),
    Stage("ner:   token splitting + set_ents (entity_tokens.py)",
          "spacy_zh_mtl.pipeline.entity_tokens:set_char_entities"),
]


def stages_for(component_config: Dict[str, Any], stages: List[Stage] = ZH_MTL_NER_STAGES) -> Dict[str, str]:
    """Label -> function path of the stages a component with this config runs."""
    text = json.dumps(component_config, default=str)
    return {s.label: s.path for s in stages if s.architecture is None or f'"{s.architecture}"' in text}

FunctionKey = Tuple[str, int, str]


def resolve(path: str) -> Callable[..., Any]:
    """The function at "module:Qualified.name"."""
    module_name, _, qualname = path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def profile_key(func: Callable[..., Any]) -> FunctionKey:
    """The (filename, first line, name) under which cProfile records a Python function."""
    code = inspect.unwrap(func).__code__
    return code.co_filename, code.co_firstlineno, code.co_name


def profile(run: Callable[[], Any]) -> Tuple[Any, pstats.Stats]:
    """Run under cProfile; the result and the profile's statistics."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        result = run()
    finally:
        profiler.disable()
    return result, pstats.Stats(profiler)


def stage_times(stats: pstats.Stats, stages: Dict[str, str]) -> Dict[str, Dict[str, float]]:
    """Per stage label: cumulative seconds and calls of its function in the
    profile. Raises KeyError naming every stage whose function is missing.
    """
    table = stats.stats  # type: ignore[attr-defined]
    times, missing = {}, []
    for label, path in stages.items():
        key = profile_key(resolve(path))
        if key not in table:
            missing.append(f"{label} ({path})")
            continue
        _, n_calls, _, cumulative, _ = table[key]
        times[label] = {"seconds": cumulative, "calls": n_calls}
    if missing:
        raise KeyError("Stage functions not called in the profiled run: " + "; ".join(missing))
    return times
