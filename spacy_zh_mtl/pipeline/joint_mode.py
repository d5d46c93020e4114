"""Load a trained pipeline in joint mode: `zh_mtl_ner` writes words, tags and
entities in one pass, so pkuseg and the tagger are left out.

    import spacy_zh_mtl
    nlp = spacy_zh_mtl.load_joint("zh_mtl_ner")   # a package name or a path

A pipeline trained with `configs/cpu_joint.cfg` or `configs/gpu_joint.cfg` is
in joint mode already and loads with `spacy.load` as it is.
"""
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import spacy
from spacy import util
from spacy.language import Language

JOINT = ["ents", "tokens", "tags"]
# components whose work joint mode does itself (zh_mtl_ner reads
# transformers through its own listener, never spaCy's tok2vec)
REPLACED_FACTORIES = ("tagger", "tok2vec")


def load_joint(name: Union[str, Path], *, int8: Optional[bool] = None, **kwargs: Any) -> Language:
    """`spacy.load` with every `zh_mtl_ner` in joint mode, a character
    tokenizer instead of pkuseg, and the tagger and tok2vec components left
    out; `int8`: the components' `int8` setting (int8 BiGRUs on CPU; None:
    as saved). Other
    keyword arguments go to `spacy.load` (`config` overrides are merged with
    these)."""
    config = saved_config(name)
    components = config.get("components", {})
    mtl = zh_mtl_ner_names(config)
    if not mtl:
        raise ValueError(f"load_joint: {name} has no zh_mtl_ner component (pipeline {config['nlp']['pipeline']})")
    for ner in mtl:
        tasks = components[ner].get("tasks", [])
        if not {"cws", "pos"} <= set(tasks):
            raise ValueError(
                f"load_joint: '{ner}' was trained with tasks = {tasks}; joint mode needs "
                f"the 'cws' and 'pos' decoders (tasks = [\"ner\", \"cws\", \"pos\"])"
            )
    overrides: Dict[str, Any] = {f"components.{ner}.annotate": JOINT for ner in mtl}
    if int8 is not None:
        overrides.update({f"components.{ner}.int8": int8 for ner in mtl})
    exclude: List[str] = [n for n, block in components.items() if block.get("factory") in REPLACED_FACTORIES]
    if config["nlp"].get("tokenizer", {}).get("@tokenizers") == "spacy.zh.ChineseTokenizer":
        overrides["nlp.tokenizer.segmenter"] = "char"
        exclude.append("tokenizer")  # its saved settings would restore pkuseg
    overrides.update(util.dict_to_dot(kwargs.pop("config", {})))
    exclude.extend(kwargs.pop("exclude", []))
    return spacy.load(name, config=util.dot_to_dict(overrides), exclude=exclude, **kwargs)


def zh_mtl_ner_names(config: Dict[str, Any]) -> List[str]:
    """The names of the `zh_mtl_ner` components in a pipeline config."""
    return [n for n, block in config.get("components", {}).items() if block.get("factory") == "zh_mtl_ner"]


def saved_config(name: Union[str, Path]) -> Dict[str, Any]:
    """The config.cfg of a pipeline path or installed package, uninterpolated."""
    path = Path(name)
    if isinstance(name, str) and util.is_package(name):
        # an installed pipeline package keeps its data in a versioned sub-folder
        found = sorted(Path(util.get_package_path(name)).glob("*/config.cfg"))
        path = found[0].parent if found else Path(util.get_package_path(name))
    if not (path / "config.cfg").exists():
        raise ValueError(f"load_joint: no pipeline at {path} (no config.cfg)")
    return util.load_config(path / "config.cfg", interpolate=False)
