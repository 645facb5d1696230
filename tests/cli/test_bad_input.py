"""Bad input is invalid input: exit 3 (or 2 for a wrong command line) with FILE:LINE:COLUMN and a
message saying what is wrong; never an internal error (exit 70), never a traceback.

The committed corpus is tests/data/bad-input/, with what tctl must answer for each file in its
expected.yaml. Inputs too large to commit are made here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from tctl_py.config.documents import MAX_NODES
from tctl_py.errors import ExitCode
from tests.support.cli import ROOT, Ran, run_main, run_process

CORPUS = ROOT / "tests" / "data" / "bad-input"
INDEX = CORPUS / "expected.yaml"
EXPECTED: dict[str, dict] = yaml.safe_load(INDEX.read_text())
VALIDATED = sorted(
    name
    for name, entry in EXPECTED.items()
    if entry.get("command", "validate") == "validate" and entry["exit"] == ExitCode.INVALID
)


def _clean(ran: Ran) -> None:
    """Nothing tctl prints on bad input is a bug report."""
    for stream in (ran.stdout, ran.stderr):
        assert "Traceback" not in stream
        assert "internal error" not in stream
    assert ran.exit_code != ExitCode.INTERNAL


def _problem_line(ran: Ran, shown: str, at: str | None) -> str:
    """The first line of stderr that positions a problem at `shown`:`at` (the file alone if None)."""
    where = f"{shown}:{at}: " if at else f"{shown}: "
    lines = [line for line in ran.stderr.splitlines() if where in line]
    assert lines, f"no line with {where!r} in:\n{ran.stderr}"
    return lines[0]


def _run_corpus_file(name: str, entry: dict, tmp_path: Path) -> tuple[Ran, str]:
    """tctl run on one corpus file the way its entry says; the path as tctl prints it."""
    path = CORPUS / name
    store = ["--store", str(tmp_path / "store.db")]
    command = entry.get("command", "validate")
    if command == "fleet":  # a snapshot folder of one cluster holding the file
        copy = tmp_path / "fleet" / "cluster-1" / name
        copy.parent.mkdir(parents=True)
        shutil.copy(path, copy)
        return run_main([*store, "--fleet", str(tmp_path / "fleet"), "clusters"]), str(copy)
    if command == "kubeconfig":
        return run_main([*store, "--kubeconfig", str(path), "clusters"]), str(path)
    if command == "stdin":
        return run_main([*store, "validate", "-f", "-"], input=path.read_bytes()), "<stdin>"
    if command == "apply":
        return run_main([*store, "apply", "--no-sync", "-f", str(path)]), str(path)
    return run_main([*store, "validate", "-f", str(path)]), str(path)


def test_the_corpus_holds_at_least_100_files_and_each_has_an_entry():
    files = {p.name for p in CORPUS.iterdir()} - {INDEX.name}
    assert len(files) >= 100
    assert files == set(EXPECTED), "every file of the corpus needs an entry in expected.yaml, and back"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_input_gets_its_exit_code_position_and_message(name, tmp_path):
    entry = EXPECTED[name]
    ran, shown = _run_corpus_file(name, entry, tmp_path)
    _clean(ran)
    assert ran.exit_code == entry["exit"], ran.stderr
    assert entry["message"] in _problem_line(ran, shown, entry["at"])


@pytest.mark.parametrize("name", VALIDATED)
def test_apply_refuses_what_validate_refuses_and_stores_nothing(name, tmp_path):
    entry = EXPECTED[name]
    path = str(CORPUS / name)
    store = tmp_path / "store.db"
    ran = run_main(["--store", str(store), "apply", "--no-sync", "-f", path])
    _clean(ran)
    assert ran.exit_code == ExitCode.INVALID, ran.stderr
    assert entry["message"] in _problem_line(ran, path, entry["at"])
    assert "nothing applied" in ran.stderr
    listed = run_main(["--store", str(store), "get", "organizations"])
    assert listed.exit_code == ExitCode.OK and "tse" not in listed.stdout


# --- inputs too large to commit, and paths that are not files ----------------------------------


def test_dev_zero_stops_at_the_default_cap_and_says_how_to_raise_it():
    ran = run_process(["validate", "-f", "/dev/zero"])
    _clean(ran)
    assert ran.exit_code == ExitCode.INVALID
    cap = 64 * 1024 * 1024
    line = _problem_line(ran, "/dev/zero", f"1:{cap + 1}")  # all NULs: one line, stopped at the cap
    assert "larger than 64MiB" in line and "--max-input-size" in line and "TCTL_MAX_INPUT_SIZE" in line


def test_stdin_is_capped_like_files(tmp_path):
    ran = run_process(["validate", "-f", "-"], env={"TCTL_MAX_INPUT_SIZE": "1Ki"}, input="a: 1\n" * 1000)
    _clean(ran)
    assert ran.exit_code == ExitCode.INVALID
    # 1,024 bytes of 5-byte lines: the first byte past the cap is the 5th of line 205
    assert "larger than 1KiB" in _problem_line(ran, "<stdin>", "205:5")


def test_a_fifo_that_never_ends_is_capped(tmp_path):
    fifo = tmp_path / "endless.yaml"
    os.mkfifo(fifo)

    def write_forever() -> None:
        try:
            with open(fifo, "w") as stream:
                while True:
                    stream.write("# more\n" * 1000)
        except BrokenPipeError:
            pass  # tctl stopped reading: what the cap is for

    writer = threading.Thread(target=write_forever, daemon=True)
    writer.start()
    ran = run_main(["--max-input-size", "1Mi", "validate", "-f", str(fifo)])
    writer.join(timeout=10)
    _clean(ran)
    assert ran.exit_code == ExitCode.INVALID
    assert "larger than 1MiB" in _problem_line(ran, str(fifo), f"{(1 << 20) // 7 + 1}:{(1 << 20) % 7 + 1}")


def test_a_file_over_a_raised_or_lowered_cap(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text(
        "apiVersion: api.tsb.tetrate.io/v2\nkind: Organization\nmetadata:\n  name: tse\n"
        + "# padding\n" * 200_000
    )  # 2 MB of comments
    assert run_main(["validate", "-f", str(big), "--max-input-size", "4Mi"]).exit_code == ExitCode.OK
    ran = run_main(["validate", "-f", str(big), "--max-input-size", "1Mi"])
    _clean(ran)
    assert ran.exit_code == ExitCode.INVALID
    assert "larger than 1MiB" in ran.stderr


@pytest.mark.parametrize("size", ["0", "64MB", "-1", "lots"])
def test_a_size_that_is_not_one_is_a_usage_error(size):
    ran = run_main(["--max-input-size", size, "validate", "-f", str(CORPUS / "shape-empty.yaml")])
    _clean(ran)
    assert ran.exit_code == ExitCode.USAGE
    assert "is not a size" in ran.stderr


def test_a_10_mb_line_is_reported_without_echoing_it(tmp_path):
    path = tmp_path / "long-line.yaml"
    value = "v" * 10_000_000
    path.write_text(
        "apiVersion: api.tsb.tetrate.io/v2\nkind: Organization\nmetadata:\n  name: tse\n"
        f"  labels:\n    team: {value}\n"
    )
    ran = run_main(["validate", "-f", str(path)])
    _clean(ran)
    assert ran.exit_code == ExitCode.INVALID
    assert "(10000000 characters)" in _problem_line(ran, str(path), "6:11")
    assert len(ran.stderr) < 2_000


def test_a_document_of_too_many_values_is_refused_before_it_is_built(tmp_path):
    path = tmp_path / "crowded.yaml"
    path.write_text("[" + "1," * (2 * MAX_NODES + 10) + "1]\n")
    ran = run_main(["validate", "-f", str(path)])
    _clean(ran)
    assert ran.exit_code == ExitCode.INVALID
    # counting stops past 2 x MAX_NODES nodes (keys count too): the list is node 1, so its
    # item 2 x MAX_NODES (1-based) is where reading stopped
    column = 2 + 2 * (2 * MAX_NODES - 1)
    assert f"more than {MAX_NODES} values" in _problem_line(ran, str(path), f"1:{column}")


def test_aliases_of_a_huge_anchor_are_refused(tmp_path):
    path = tmp_path / "anchor.yaml"
    path.write_text(f"a: &big {'x' * 1_000_000}\nb: [{', '.join(['*big'] * 20)}]\n")
    ran = run_main(["--max-input-size", "8Mi", "validate", "-f", str(path)])
    _clean(ran)
    assert ran.exit_code == ExitCode.INVALID
    assert f"expands to more than {8 << 20} characters" in ran.stderr


def test_random_bytes_piped_to_a_process():
    binary = (CORPUS / "encoding-random-bytes.bin").read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "tctl_py", "validate", "-f", "-"],
        input=binary,
        check=False,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    ran = Ran(done.returncode, done.stdout.decode(), done.stderr.decode())
    _clean(ran)
    assert ran.exit_code == ExitCode.INVALID
    assert "<stdin>:1:2: not UTF-8 text" in ran.stderr


def test_a_file_name_that_is_not_utf8(tmp_path):
    name = os.fsencode(tmp_path) + b"/caf\xe9.yaml"
    with open(name, "wb") as stream:
        stream.write(b"a: [\n")
    done = subprocess.run(
        [sys.executable, "-m", "tctl_py", "validate", "-f", name],
        check=False,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
    )
    ran = Ran(done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"))
    _clean(ran)
    assert ran.exit_code == ExitCode.INVALID
    assert name + b":2:1: YAML syntax error" in done.stderr  # the name's own bytes, as given


def test_a_dangling_symlink(tmp_path):
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    named = run_main(["validate", "-f", str(folder / "gone.yaml")])
    _clean(named)
    assert named.exit_code == ExitCode.USAGE and "does not exist" in named.stderr
    in_folder = run_main(["validate", "-f", str(folder)])
    _clean(in_folder)
    assert in_folder.exit_code == ExitCode.USAGE
    assert f'cannot read "{folder / "gone.yaml"}"' in in_folder.stderr


def test_a_folder_without_configuration(tmp_path):
    (tmp_path / "sub.yaml").mkdir()  # a folder, whatever its name
    ran = run_main(["validate", "-f", str(tmp_path)])
    _clean(ran)
    assert ran.exit_code == ExitCode.INVALID
    assert f"{tmp_path}: the folder holds no .yaml, .yml or .json file" in ran.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file(tmp_path):
    path = tmp_path / "secret.yaml"
    path.write_text("a: 1\n")
    path.chmod(0)
    ran = run_main(["validate", "-f", str(path)])
    _clean(ran)
    assert ran.exit_code == ExitCode.USAGE
    assert f'cannot read "{path}": Permission denied' in ran.stderr
