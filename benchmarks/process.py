"""Subprocesses of the benchmarks: niced, single-threaded by default, logged."""
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

from .cells import ROOT

PY = [sys.executable, "-m"]


def log(message: str) -> None:
    print(time.strftime("[%H:%M:%S] ") + message, flush=True)


def thread_env(threads: int) -> Dict[str, str]:
    """The environment with torch/OpenMP threads set (0: leave the defaults).
    On a shared 2-core machine more than one thread per process made torch up
    to 50x slower (OpenMP spin-waiting), so the CLIs default to 1.
    """
    env = dict(os.environ, TQDM_DISABLE="1")
    if threads:
        n = str(threads)
        env.update(OMP_NUM_THREADS=n, MKL_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n)
    return env


def run_cmd(cmd: List[str], log_path: Optional[Path] = None, nice: int = 10, threads: int = 1) -> float:
    """Run a command (niced) in the repository root, its output to log_path;
    raise with the log's tail on failure. Returns wall seconds.
    """
    full = (["nice", "-n", str(nice)] if nice else []) + cmd
    log("$ " + " ".join(cmd))
    start = time.time()
    if log_path is None:
        subprocess.run(full, check=True, cwd=ROOT, env=thread_env(threads))
        return time.time() - start
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf8") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        proc = subprocess.run(full, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, env=thread_env(threads))
    if proc.returncode != 0:
        tail = log_path.read_text(encoding="utf8")[-3000:]
        raise RuntimeError(f"Command failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")
    return time.time() - start


def git_commit() -> Optional[str]:
    """HEAD's short commit, '+dirty' with uncommitted changes to the package or configs."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "spacy_zh_mtl", "configs"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None
