"""Multiprocessing with a CPU torch transformer must not hang after importing fork_safety."""
import json
import multiprocessing
import sys
from pathlib import Path
from typing import List

import numpy
import pytest

from conftest import run_isolated

TIMEOUT = 90

# Runs in a subprocess, so that a hang fails the test instead of hanging pytest.
SCRIPT = """
import json, os, sys
import spacy_zh_mtl.fork_safety
import numpy, spacy, torch

model_dir, out_dir = sys.argv[1], sys.argv[2]
nlp = spacy.blank("zh")
nlp.add_pipe("transformer", config={"model": {
    "name": model_dir,
    "tokenizer_config": {"use_fast": True},
    "get_spans": {"@span_getters": "spacy-transformers.strided_spans.v1", "window": 128, "stride": 96},
}})
nlp.initialize()
texts = json.loads(sys.argv[3])
threads = {"parent_before": torch.get_num_threads()}
arrays, strings = {}, {}
for n_process in (1, 2):
    for i, doc in enumerate(nlp.pipe(texts, n_process=n_process, batch_size=1)):
        strings[f"{n_process}_{i}"] = doc._.trf_data.wordpieces.strings
        for j, tensor in enumerate(doc._.trf_data.tensors):
            arrays[f"{n_process}_{i}_{j}"] = tensor
threads["parent_after"] = torch.get_num_threads()
read_fd, write_fd = os.pipe()
if os.fork() == 0:
    os.write(write_fd, str(torch.get_num_threads()).encode())
    os._exit(0)
threads["child"] = int(os.read(read_fd, 16))
numpy.savez(os.path.join(out_dir, "tensors.npz"), **arrays)
with open(os.path.join(out_dir, "info.json"), "w") as file_:
    json.dump({"threads": threads, "strings": strings}, file_)
"""


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork"
)
def test_n_process_2_matches_n_process_1(
    tiny_transformer_dir: Path, tiny_texts: List[str], tmp_path: Path
) -> None:
    texts = tiny_texts + [text * 8 for text in tiny_texts]
    cmd = [sys.executable, "-c", SCRIPT, str(tiny_transformer_dir), str(tmp_path), json.dumps(texts)]
    run_isolated(cmd, TIMEOUT)
    info = json.loads((tmp_path / "info.json").read_text())
    threads = info["threads"]
    assert threads["parent_after"] == threads["parent_before"]
    assert threads["child"] == 1
    tensors = numpy.load(tmp_path / "tensors.npz")
    single = sorted(key[2:] for key in tensors.files if key.startswith("1_"))
    assert single == sorted(key[2:] for key in tensors.files if key.startswith("2_"))
    assert len(single) >= 2 * len(texts)
    for i in range(len(texts)):
        assert info["strings"][f"1_{i}"] == info["strings"][f"2_{i}"]
    for key in single:
        one, two = tensors[f"1_{key}"], tensors[f"2_{key}"]
        assert one.shape == two.shape
        numpy.testing.assert_allclose(one, two, rtol=1e-5, atol=1e-5)
