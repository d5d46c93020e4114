"""Every `python -m benchmarks.X ...` command in README.md and docs/*.md parses
with that module's own argument parser (nothing is run)."""
import importlib
import re
import shlex
from pathlib import Path
from typing import List, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# a command runs to the end of its line or inline code span, or to a shell
# separator or comment
COMMAND = re.compile(r"python -m benchmarks\.(\w+)([^`\n]*)")
SEPARATOR = re.compile(r"\s(?:&&|\|\||[|;#])")


def documented_commands() -> List[Tuple[str, str, str]]:
    """(where, module, arguments) for every benchmark command in the docs."""
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf8")
        # continuation lines: `\` at a line end in code blocks, and inline code spans broken over lines
        text = re.sub(r"\\\n\s*", " ", text)
        text = re.sub(r"(`python -m benchmarks[^`\n]*)\n([^`\n]*`)", r"\1 \2", text)
        for match in COMMAND.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            args = SEPARATOR.split(match.group(2), maxsplit=1)[0]
            found.append((f"{path.relative_to(ROOT)}:{line}", match.group(1), args))
    return found


COMMANDS = documented_commands()


def test_the_docs_have_benchmark_commands() -> None:
    assert len(COMMANDS) >= 5


@pytest.mark.parametrize("where,module,args", COMMANDS, ids=[w for w, _, _ in COMMANDS])
def test_documented_command_parses(where: str, module: str, args: str) -> None:
    benchmark = importlib.import_module(f"benchmarks.{module}")
    assert hasattr(benchmark, "build_parser"), f"{where}: benchmarks.{module} has no build_parser()"
    try:
        benchmark.build_parser().parse_args(shlex.split(args))
    except SystemExit as error:
        pytest.fail(f"{where}: python -m benchmarks.{module}{args} does not parse (exit {error.code})")


def setup_commands() -> List[str]:
    """The one-line commands of the README's Install section."""
    text = (ROOT / "README.md").read_text(encoding="utf8")
    section = text.split("\n## Install\n", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, re.S)]


def test_readme_has_two_setup_commands_and_ci_runs_the_test_one() -> None:
    commands = setup_commands()
    assert len(commands) == 2 and all("\n" not in c for c in commands), commands
    project, tests = commands
    assert project.endswith("python -m spacy project run all")
    assert tests.endswith("python -m pytest")
    for command in commands:
        assert "--extra-index-url https://download.pytorch.org/whl/cpu" in command
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf8").strip().splitlines()
    assert ci[-1] == tests, ".ci/run must end with the README's test command"
