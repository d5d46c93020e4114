"""Smoke run of `spacy project run all` on tiny hand-written corpora.

The corpora below are written for this test in the formats of the real assets
(Weibo NER `char+digit<TAB>tag`, UD 1.3 CoNLL-X, GSDSimp CoNLL-U); the run uses
the shipped cpu.cfg (LAC + jieba features) and a few training steps, then installs the wheel into a
temporary directory and loads it with `spacy.load("zh_mtl_ner")` in a new process.
"""
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import List, Optional, Tuple

import pytest

ROOT = Path(__file__).parent.parent
READY = (ROOT / "spacy_zh_mtl" / "pipeline" / "zh_mtl_ner.py").exists() and (ROOT / "configs" / "cpu.cfg").exists()

# (words, entities as (first word, last word exclusive, label))
NER = [
    (["王小明", "去", "北京", "了"], [(0, 1, "PER.NAM"), (2, 3, "GPE.NAM")]),
    (["李华", "在", "上海", "工作"], [(0, 1, "PER.NAM"), (2, 3, "GPE.NAM")]),
    (["老师", "说", "明天", "考试"], [(0, 1, "PER.NOM")]),
    (["张伟", "访问", "南京", "大学"], [(0, 1, "PER.NAM"), (2, 4, "ORG.NAM")]),
    (["我们", "去", "上海", "玩", "😀"], [(2, 3, "GPE.NAM")]),
    (["今天", "天气", "很", "好"], []),
    (["刘洋", "加入", "清华", "大学"], [(0, 1, "PER.NAM"), (2, 4, "ORG.NAM")]),
    (["陈静", "住", "在", "广州"], [(0, 1, "PER.NAM"), (3, 4, "GPE.NAM")]),
    (["华为", "公司", "在", "深圳"], [(0, 2, "ORG.NAM"), (3, 4, "GPE.NAM")]),
    (["同学", "们", "去", "公园", "玩"], [(0, 1, "PER.NOM"), (3, 4, "LOC.NOM")]),
    (["孙丽", "去", "了", "成都"], [(0, 1, "PER.NAM"), (3, 4, "GPE.NAM")]),
    (["周强", "在", "华为", "工作"], [(0, 1, "PER.NAM"), (2, 3, "ORG.NAM")]),
]
NER_DEV = [
    (["吴敏", "去", "杭州"], [(0, 1, "PER.NAM"), (2, 3, "GPE.NAM")]),
    (["我", "喜欢", "看", "书"], []),
]
NER_TEST = [
    (["赵军", "喜欢", "杭州"], [(0, 1, "PER.NAM"), (2, 3, "GPE.NAM")]),
    (["他们", "明天", "去", "广州"], [(3, 4, "GPE.NAM")]),
]

# (word, UPOS, XPOS)
POS = [
    [("王小明", "PROPN", "NNP"), ("去", "VERB", "VV"), ("北京", "PROPN", "NNP"), (".", "PUNCT", ".")],
    [("李华", "PROPN", "NNP"), ("在", "ADP", "IN"), ("上海", "PROPN", "NNP"), ("工作", "VERB", "VV")],
    [("我们", "PRON", "PRP"), ("去", "VERB", "VV"), ("上海", "PROPN", "NNP"), ("玩", "VERB", "VV")],
    [("今天", "NOUN", "NN"), ("天气", "NOUN", "NN"), ("很", "ADV", "RB"), ("好", "ADJ", "JJ")],
    [("张伟", "PROPN", "NNP"), ("访问", "VERB", "VV"), ("南京", "PROPN", "NNP"), (",", "PUNCT", ",")],
    [("他", "PRON", "PRP"), ("在", "ADP", "IN"), ("广州", "PROPN", "NNP"), ("工作", "VERB", "VV")],
    [("老师", "NOUN", "NN"), ("说", "VERB", "VV"), ("明天", "NOUN", "NN"), ("考试", "VERB", "VV")],
    [("华为", "PROPN", "NNP"), ("公司", "NOUN", "NN"), ("在", "ADP", "IN"), ("深圳", "PROPN", "NNP")],
    [("刘洋", "PROPN", "NNP"), ("加入", "VERB", "VV"), ("清华", "PROPN", "NNP"), ("大学", "NOUN", "NN")],
    [("我", "PRON", "PRP"), ("喜欢", "VERB", "VV"), ("看", "VERB", "VV"), ("书", "NOUN", "NN")],
    [("孙丽", "PROPN", "NNP"), ("去", "VERB", "VV"), ("了", "AUX", "AS"), ("成都", "PROPN", "NNP")],
    [("同学", "NOUN", "NN"), ("们", "PART", "SFN"), ("去", "VERB", "VV"), ("公园", "NOUN", "NN")],
]


def weibo_lines(sentences: List[Tuple[List[str], list]]) -> str:
    """Weibo NER format: char + position-in-word digit, TAB, BIO tag."""
    out = []
    for words, ents in sentences:
        tags = []
        for i, word in enumerate(words):
            label = next((lab for s, e, lab in ents if s <= i < e), None)
            first = next((s for s, e, lab in ents if s <= i < e), None)
            for j, char in enumerate(word):
                if label is None:
                    tags.append("O")
                else:
                    tags.append(("B-" if i == first and j == 0 else "I-") + label)
        chars = [(c, j) for word in words for j, c in enumerate(word)]
        out += [f"{c}{j}\t{t}" for (c, j), t in zip(chars, tags)] + [""]
    return "\n".join(out) + "\n"


def char_spans(words: List[str], ents: list) -> List[Tuple[int, int, str]]:
    """Entities as character offsets (end exclusive)."""
    starts = [0]
    for word in words:
        starts.append(starts[-1] + len(word))
    return [(starts[s], starts[e], label) for s, e, label in ents]


def bmes_lines(sentences: List[Tuple[List[str], list]]) -> str:
    """Character-per-line BMES (B-/M-/E-/S-), TAB-separated, an extra middle column."""
    out = []
    for words, ents in sentences:
        text = "".join(words)
        tags = ["O"] * len(text)
        for start, end, label in char_spans(words, ents):
            if end - start == 1:
                tags[start] = f"S-{label}"
                continue
            tags[start:end] = [f"B-{label}"] + [f"M-{label}"] * (end - start - 2) + [f"E-{label}"]
        out += [f"{c}\tx\t{t}" for c, t in zip(text, tags)] + [""]
    return "\n".join(out) + "\n"


def span_records(sentences: List[Tuple[List[str], list]], shape: str) -> List[dict]:
    """spaCy/Prodigy ("spacy"), doccano or Label Studio ("labelstudio") records."""
    records = []
    for words, ents in sentences:
        text = "".join(words)
        spans = char_spans(words, ents)
        if shape == "spacy":
            records.append({"text": text, "spans": [{"start": s, "end": e, "label": lab} for s, e, lab in spans]})
        elif shape == "doccano":
            records.append({"text": text, "label": [[s, e, lab] for s, e, lab in spans]})
        else:
            result = [{"type": "labels", "value": {"start": s, "end": e, "text": text[s:e], "labels": [lab]}}
                      for s, e, lab in spans]
            records.append({"data": {"text": text}, "annotations": [{"result": result}]})
    return records


def conll_lines(sentences, conllu: bool) -> str:
    out = []
    for sent in sentences:
        if conllu:
            out.append("# text = " + "".join(w for w, _, _ in sent))
        for i, (word, upos, xpos) in enumerate(sent, 1):
            misc = "SpaceAfter=No" if conllu else "_"
            out.append(f"{i}\t{word}\t{word if conllu else '_'}\t{upos}\t{xpos}\t_\t0\troot\t_\t{misc}")
        out.append("")
    return "\n".join(out) + "\n"


def write_project(tmp: Path) -> None:
    shutil.copy(ROOT / "project.yml", tmp / "project.yml")
    (tmp / "configs").mkdir()
    for name in ("cpu.cfg", "cpu_joint.cfg", "cpu_joint_tower.cfg", "gpu.cfg", "preannotation_tagger.cfg"):
        shutil.copy(ROOT / "configs" / name, tmp / "configs" / name)
    weibo = tmp / "assets" / "weibo"
    weibo.mkdir(parents=True)
    (weibo / "weiboNER_2nd_conll.train").write_text(weibo_lines(NER), encoding="utf8")
    (weibo / "weiboNER_2nd_conll.dev").write_text(weibo_lines(NER_DEV), encoding="utf8")
    (weibo / "weiboNER_2nd_conll.test").write_text(weibo_lines(NER_TEST), encoding="utf8")
    gsd = tmp / "assets" / "gsd"
    gsd.mkdir(parents=True)
    (gsd / "train.conll").write_text(conll_lines(POS, conllu=False), encoding="utf8")
    (gsd / "zh_gsdsimp-ud-dev.conllu").write_text(conll_lines(POS[:3], conllu=True), encoding="utf8")
    (gsd / "zh_gsdsimp-ud-test.conllu").write_text(conll_lines(POS[3:6], conllu=True), encoding="utf8")


def test_weibo_fixture_writer():
    text = weibo_lines(NER[:1])
    assert text.splitlines()[:4] == ["王0\tB-PER.NAM", "小1\tI-PER.NAM", "明2\tI-PER.NAM", "去0\tO"]


@pytest.mark.slow
@pytest.mark.skipif(not READY, reason="needs the zh_mtl_ner component and configs/cpu.cfg")
def test_project_run_all(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    write_project(project)
    env = dict(os.environ)
    env["ZH_MTL_TRAIN_ARGS"] = (
        "--training.max_steps 6 --training.eval_frequency 3 "
        "--training.optimizer.learn_rate.warmup_steps 2 --components.ner.model.hidden_size 16"
    )
    cmd = [
        sys.executable, "-m", "spacy", "project", "run", "all", str(project),
        "--vars.seg_iter", "2", "--vars.tagger_steps", "6",
        "--vars.trf_hidden", "32", "--vars.trf_layers", "1", "--vars.trf_heads", "2",
        "--vars.trf_intermediate", "64",
    ]
    result = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    out = result.stdout
    # every step printed its counts
    assert "repaired: " in out and "skipped: " in out
    assert "dev word P" in out
    assert "entities kept: 20 of 20" in out and "entities kept: 2 of 2" in out
    table = (project / "metrics" / "weibo_test.md").read_text(encoding="utf8")
    assert "| **all** |" in table and "| PER.NAM |" in table
    metrics = json.loads((project / "metrics" / "weibo_test.json").read_text())
    assert "ents_f" in metrics
    wheel = project / "packages" / "zh_mtl_ner-0.2.0" / "dist" / "zh_mtl_ner-0.2.0-py3-none-any.whl"
    check_wheel(wheel)
    info = load_installed_wheel(wheel, tmp_path, env)
    assert "".join(info["tokens"]) == "王小明去北京了"
    assert info["pkuseg"] and info["pipes"] == ["tok2vec", "tagger", "ner"]
    assert all(info["tags"])
    run_joint(project, env)
    # your own corpus: the same project again with ner_corpus custom; the
    # segmenter and tagger of the run above are reused (weasel skips them)
    run_custom_bmes(project, env)
    run_custom_jsonl(project, env)


def check_wheel(wheel: Path) -> None:
    """The packaged pipeline holds the pkuseg model and requires this package."""
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = z.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert any(n.endswith("tokenizer/pkuseg_model/features.msgpack") for n in names)
    assert any(n.endswith("tokenizer/pkuseg_model/weights.npz") for n in names)
    assert "Requires-Dist: spacy-zh-mtl" in meta


def load_installed_wheel(wheel: Path, tmp_path: Path, env: dict) -> dict:
    """Install the wheel into a separate directory, load it with
    spacy.load("zh_mtl_ner") in a new process and annotate 王小明去北京了:
    its tokens, tags, entities, pipes and whether it has a pkuseg model."""
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
        check=True, capture_output=True, timeout=300,
    )
    code = (
        "import json, spacy\n"
        "nlp = spacy.load('zh_mtl_ner')\n"
        "doc = nlp('王小明去北京了')\n"
        "print(json.dumps({'tokens': [t.text for t in doc], 'tags': [t.tag_ for t in doc],"
        " 'ents': [(e.start_char, e.end_char, e.label_) for e in doc.ents],"
        " 'pkuseg': nlp.tokenizer.pkuseg_seg is not None, 'pipes': nlp.pipe_names}))\n"
    )
    # a separate environment: the custom-corpus runs keep ZH_MTL_TRAIN_ARGS (6 steps)
    load_env = dict(env, PYTHONPATH=os.pathsep.join([str(site), env.get("PYTHONPATH", "")]))
    return run_python(code, env=load_env, cwd=tmp_path)


def run_python(code: str, *args: str, env: dict, cwd: Optional[Path] = None) -> dict:
    """Run `code` in a new interpreter; the JSON object of its last output line."""
    loaded = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    return json.loads(loaded.stdout.strip().splitlines()[-1])


def run_joint(project: Path, env: dict) -> None:
    """The joint-mode config: the same data, a pipeline of `ner` alone whose
    tokens are its own words, all tagged."""
    cmd = [sys.executable, "-m", "spacy", "project", "run", "all", str(project),
           "--vars.config", "cpu_joint", "--vars.name", "joint", "--vars.seg_iter", "2", "--vars.tagger_steps", "6"]
    result = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "Skipping 'preannotate'" in result.stdout
    assert (project / "packages" / "zh_joint-0.2.0" / "dist" / "zh_joint-0.2.0-py3-none-any.whl").exists()
    code = (
        "import json, sys, spacy\n"
        "nlp = spacy.load(sys.argv[1])\n"
        "doc = nlp('王小明去北京了')\n"
        "print(json.dumps({'pipes': nlp.pipe_names, 'tokens': [t.text for t in doc], 'tags': [t.tag_ for t in doc]}))\n"
    )
    info = run_python(code, str(project / "training" / "model-best"), env=env)
    assert info["pipes"] == ["ner"]
    assert "".join(info["tokens"]) == "王小明去北京了" and all(info["tags"])


def run_custom(project: Path, env: dict, *vars_: str) -> str:
    cmd = [sys.executable, "-m", "spacy", "project", "run", "all", str(project),
           "--vars.ner_corpus", "custom", "--vars.seg_iter", "2", "--vars.tagger_steps", "6", *vars_]
    result = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "Skipping 'train-segmenter'" in result.stdout and "Skipping 'train-tagger'" in result.stdout
    stats = json.loads((project / "metrics" / "corpus_custom.json").read_text(encoding="utf8"))
    assert set(stats["splits"]) == {"train", "dev", "test"}
    assert "crossing_pkuseg" in stats["splits"]["test"]
    assert "ents_f" in json.loads((project / "metrics" / "custom_test.json").read_text())
    # the train arguments of the environment reached this run too
    assert "max_steps = 6" in (project / "training" / "model-last" / "config.cfg").read_text(encoding="utf8")
    return result.stdout


def run_custom_bmes(project: Path, env: dict) -> None:
    """Character-per-line BMES, no dev file (dev split from train)."""
    data = project.parent / "bmes"
    data.mkdir()
    (data / "train.bmes").write_text(bmes_lines(NER), encoding="utf8")
    (data / "test.bmes").write_text(bmes_lines(NER_TEST), encoding="utf8")
    out = run_custom(project, env, "--vars.ner_train", str(data / "train.bmes"),
                     "--vars.ner_test", str(data / "test.bmes"), "--vars.name", "custom_bmes")
    assert "format: chars (detected)" in out and "tag scheme: BMES (detected)" in out
    stats = json.loads((project / "metrics" / "corpus_custom.json").read_text(encoding="utf8"))
    assert stats["splits"]["dev"]["sentences"] == 1 and stats["splits"]["train"]["sentences"] == 11
    assert "entities read 20, kept 20, repaired 0, dropped 0" in out
    wheel = project / "packages" / "zh_custom_bmes-0.2.0" / "dist" / "zh_custom_bmes-0.2.0-py3-none-any.whl"
    assert wheel.exists()


def run_custom_jsonl(project: Path, env: dict) -> None:
    """spaCy/Prodigy JSONL train, doccano JSONL dev, Label Studio JSON test, a label map."""
    data = project.parent / "jsonl"
    data.mkdir()
    (data / "train.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in span_records(NER, "spacy")), encoding="utf8")
    (data / "dev.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in span_records(NER_DEV, "doccano")), encoding="utf8")
    (data / "test.json").write_text(json.dumps(span_records(NER_TEST, "labelstudio"), ensure_ascii=False, indent=2),
                                    encoding="utf8")
    (data / "labels.json").write_text(json.dumps({"PER.NOM": None, "LOC.NOM": None, "GPE.NAM": "LOC"}), encoding="utf8")
    out = run_custom(project, env, "--vars.ner_train", str(data / "train.jsonl"), "--vars.ner_dev", str(data / "dev.jsonl"),
                     "--vars.ner_test", str(data / "test.json"), "--vars.ner_label_map", str(data / "labels.json"))
    assert "format: spacy (detected)" in out and "format: doccano (detected)" in out
    assert "format: labelstudio (detected)" in out
    # 20 train entities, the 3 nominal ones removed by the label map (counted)
    assert "entities read 20, kept 17, repaired 0, dropped 3" in out
    assert "entity removed by the label map: PER.NOM" in out
    stats = json.loads((project / "metrics" / "corpus_custom.json").read_text(encoding="utf8"))
    assert "GPE.NAM" not in stats["splits"]["train"]["labels"] and stats["splits"]["test"]["labels"]["LOC"] == 2
