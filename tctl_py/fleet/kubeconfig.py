"""Kubeconfig files merged by kubectl's rules. Pure: files in, plain data out; no `kubernetes`.

Which files (kubectl's loading order):

1. an explicit path (`--kubeconfig`): that file only, and it must exist;
2. else `KUBECONFIG`: a list split on `os.pathsep`, empty entries ignored, missing files skipped;
3. else `~/.kube/config` (skipped if missing).

How they merge (Kubernetes' `docs/kubeconfig-file.md`): the **first** file to set a value or a
named entry wins and is never changed later. That holds for `current-context` and for clusters,
contexts and users by name (a second `red-user` is dropped whole, even its fields the first one
lacks). The official Python client gets `current-context` backwards (last file wins), which is why
tctl merges here and hands the merged dict to the client.

Relative `certificate-authority`, `client-certificate`, `client-key`, `tokenFile` (and an
`exec.command` containing a path separator) are made absolute against the folder of the file that
defined them, as kubectl does.

The merged dict holds credentials: it is never printed, never put in an error message, and kept
out of every `repr`. `load_kubeconfig` hands them to the process-wide redactor
(`fleet/redaction.py`), so nothing tctl prints afterwards can show them.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tctl_py.errors import ExitCode, TctlError, UsageError, shorten
from tctl_py.fleet.redaction import REDACTOR, display_server

if TYPE_CHECKING:
    from tctl_py.config.documents import Document

# section -> (key of the entry's body, fields holding file paths)
_SECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "clusters": ("cluster", ("certificate-authority",)),
    "contexts": ("context", ()),
    "users": ("user", ("client-certificate", "client-key", "tokenFile")),
}


class KubeconfigError(TctlError):
    """A kubeconfig file exists but cannot be read or is not a kubeconfig.

    Exit 3 (invalid input): the file is input tctl was told to read and its content is wrong,
    like a YAML error in `-f`. A wrong command line (an explicit `--kubeconfig` that does not
    exist, an unknown `--context`) is a `UsageError` (exit 2) instead.
    """

    exit_code = ExitCode.INVALID


@dataclass(frozen=True)
class ClusterRef:
    """One context of the merged kubeconfig: a cluster of the fleet. Holds no credentials."""

    name: str  # the context name, which is the cluster's name in tctl
    server: str
    cluster_name: str
    user_name: str
    namespace: str = "default"
    source: str = ""  # the file that defined the context


@dataclass(frozen=True, eq=False)
class Kubeconfig:
    """The merged kubeconfig: the dict for the client, the contexts in file order, where from."""

    config: dict = field(repr=False)  # merged kubeconfig; holds credentials, never print it
    clusters: tuple[ClusterRef, ...] = ()
    current_context: str = ""
    files: tuple[str, ...] = ()  # files actually read, in merge order

    def names(self) -> list[str]:
        return [ref.name for ref in self.clusters]

    def get(self, name: str) -> ClusterRef:
        """The context called `name`; a UsageError naming the known ones if there is none."""
        for ref in self.clusters:
            if ref.name == name:
                return ref
        raise UsageError(
            f'context "{name}" is not in the kubeconfig ({self.describe_files()})', hint=_known(self.names())
        )

    def select(self, names: Sequence[str] | None = None) -> list[ClusterRef]:
        """Every context (None), or the ones named, in the order asked; unknown names are errors."""
        if names is None:
            return list(self.clusters)
        return [self.get(name) for name in names]

    def describe_files(self) -> str:
        return ", ".join(self.files) if self.files else "no kubeconfig file found"


def _known(names: list[str]) -> str:
    if not names:
        return "the kubeconfig defines no context; check --kubeconfig or KUBECONFIG"
    return "known contexts: " + ", ".join(names)


def kubeconfig_files(
    explicit: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    home: str | os.PathLike[str] | None = None,
) -> tuple[list[Path], bool]:
    """The files to merge, in precedence order, and whether they came from an explicit path."""
    environ = os.environ if env is None else env
    if explicit is not None and str(explicit) != "":
        return [Path(explicit)], True
    value = environ.get("KUBECONFIG", "")
    if value:
        seen: set[str] = set()
        files = []
        for entry in value.split(os.pathsep):
            if entry and entry not in seen:  # empty entries are ignored; duplicates read once
                seen.add(entry)
                files.append(Path(entry))
        if files:
            return files, False
    base = Path(home) if home is not None else Path(environ.get("HOME") or Path.home())
    return [base / ".kube" / "config"], False


def read_file(path: str | os.PathLike[str], *, required: bool = False) -> dict | None:
    """One kubeconfig file as a dict; None if missing and not required; KubeconfigError if bad.

    Read like `-f` input (size cap, encoding, YAML refusals, positions); messages name the file,
    the position and the entry, never a value: the file holds credentials."""
    from tctl_py.config.documents import NO_DOCUMENTS, Source, decode, parse, read_capped

    path = Path(path)
    try:
        with open(path, "rb") as stream:
            data = read_capped(stream)
    except FileNotFoundError:
        if required:
            raise UsageError(
                f'kubeconfig file "{path}" does not exist',
                hint="check --kubeconfig, or leave it out to use KUBECONFIG or ~/.kube/config",
            ) from None
        return None
    except IsADirectoryError:
        raise KubeconfigError(f'kubeconfig "{path}" is a folder, not a file') from None
    except OSError as exc:
        raise KubeconfigError(f'cannot read kubeconfig "{path}": {exc.strerror}') from None
    source = decode(os.fspath(path), data)
    documents, problems = parse(source) if isinstance(source, Source) else ([], [source])
    # An empty (or comments-only) kubeconfig is an empty configuration, as for kubectl.
    problems = [problem for problem in problems if problem.message != NO_DOCUMENTS]
    if problems:
        raise KubeconfigError(
            f"kubeconfig {problems[0].position}: {problems[0].message}", hint=problems[0].hint
        )
    if not documents:
        return {}
    if len(documents) > 1:
        raise KubeconfigError(
            f"kubeconfig {documents[1].position()}: a second YAML document",
            hint="a kubeconfig is one document; merge files with KUBECONFIG instead",
        )
    _check_shape(documents[0])
    return documents[0].mapping


def _check_shape(document: Document) -> None:
    """Refuse what is not a kubeconfig, naming the file, position and entry, never a value."""
    data = document.body
    if not isinstance(data, dict):
        raise KubeconfigError(
            f"kubeconfig {document.position()}: the document is not a mapping of kubeconfig fields",
            hint="a kubeconfig starts with apiVersion: v1, kind: Config",
        )
    # kubectl decodes a kubeconfig as kind Config of apiVersion v1 (both may be left out): any
    # other object, such as a tctl configuration file given to --kubeconfig by mistake, is refused.
    for key, expected in (("kind", "Config"), ("apiVersion", "v1")):
        if data.get(key, expected) != expected:
            raise KubeconfigError(
                f"kubeconfig {document.position([key])}: this is not a kubeconfig "
                f"({key} is {shorten(str(data[key]))!r}, not {expected!r})",
                hint="a kubeconfig starts with apiVersion: v1, kind: Config",
            )
    current = data.get("current-context")
    if current is not None and not isinstance(current, str):
        raise KubeconfigError(
            f"kubeconfig {document.position(['current-context'])}: current-context must be a string"
        )
    for section, (body_key, _) in _SECTIONS.items():
        entries = data.get(section)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise KubeconfigError(f"kubeconfig {document.position([section])}: {section} must be a list")
        for index, entry in enumerate(entries):
            where = f"kubeconfig {document.position([section, index])}: {section}[{index}]"
            if not isinstance(entry, dict):
                raise KubeconfigError(f"{where} must be a mapping")
            name = entry.get("name")
            if not isinstance(name, str) or not name:
                raise KubeconfigError(f"{where} has no name")
            body = entry.get(body_key)
            if body is not None and not isinstance(body, dict):
                raise KubeconfigError(f'{where} ("{name}"): {body_key} must be a mapping')


def _resolve_paths(section: str, entry: dict, base: str) -> dict:
    """A copy of `entry` with its relative file paths made absolute against `base`."""
    entry = copy.deepcopy(entry)
    body_key, path_fields = _SECTIONS[section]
    body = entry.get(body_key)
    if not isinstance(body, dict):
        return entry
    for name in path_fields:
        value = body.get(name)
        if isinstance(value, str) and value and not os.path.isabs(value):
            body[name] = os.path.normpath(os.path.join(base, value))
    exec_ = body.get("exec") if section == "users" else None
    if isinstance(exec_, dict):
        command = exec_.get("command")
        # kubectl resolves a command only when it is a relative *path*, not a bare name on PATH.
        if isinstance(command, str) and os.sep in command and not os.path.isabs(command):
            exec_["command"] = os.path.normpath(os.path.join(base, command))
    return entry


def merge_kubeconfigs(documents: Iterable[tuple[str | os.PathLike[str], Mapping | None]]) -> dict:
    """Merge parsed kubeconfig files given in precedence order: the first to set anything wins."""
    return _merge(documents)[0]


def _merge(
    documents: Iterable[tuple[str | os.PathLike[str], Mapping | None]],
) -> tuple[dict, dict[tuple[str, str], str]]:
    """The merged kubeconfig, and which file defined each (section, name) entry."""
    sources: dict[tuple[str, str], str] = {}
    merged: dict = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [],
        "contexts": [],
        "users": [],
        "current-context": "",
    }
    seen: dict[str, set[str]] = {section: set() for section in _SECTIONS}
    extensions_seen: set[str] = set()
    for path, data in documents:
        if not data:
            continue
        base = os.path.abspath(os.path.dirname(os.fspath(path)))
        if not merged["current-context"] and data.get("current-context"):
            merged["current-context"] = data["current-context"]
        preferences = data.get("preferences")
        if isinstance(preferences, dict):
            for key, value in preferences.items():
                merged["preferences"].setdefault(key, copy.deepcopy(value))
        for section in _SECTIONS:
            for entry in data.get(section) or ():
                name = entry["name"]
                if name in seen[section]:
                    continue  # an earlier file named it: that entry wins whole
                seen[section].add(name)
                merged[section].append(_resolve_paths(section, entry, base))
                sources[(section, name)] = os.fspath(path)
        for entry in data.get("extensions") or ():
            if isinstance(entry, dict) and str(entry.get("name")) not in extensions_seen:
                extensions_seen.add(str(entry.get("name")))
                merged.setdefault("extensions", []).append(copy.deepcopy(entry))
    return merged, sources


def cluster_refs(merged: Mapping, sources: Mapping[tuple[str, str], str] | None = None) -> list[ClusterRef]:
    """One ClusterRef per context of a merged kubeconfig, in the order the files define them."""
    clusters = {entry["name"]: entry.get("cluster") or {} for entry in merged.get("clusters") or ()}
    refs = []
    for entry in merged.get("contexts") or ():
        context = entry.get("context") or {}
        cluster_name = str(context.get("cluster") or "")
        cluster = clusters.get(cluster_name) or {}
        refs.append(
            ClusterRef(
                name=entry["name"],
                server=display_server(str(cluster.get("server") or "")),
                cluster_name=cluster_name,
                user_name=str(context.get("user") or ""),
                namespace=str(context.get("namespace") or "default"),
                source=(sources or {}).get(("contexts", entry["name"]), ""),
            )
        )
    return refs


def load_kubeconfig(
    explicit: str | os.PathLike[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    home: str | os.PathLike[str] | None = None,
) -> Kubeconfig:
    """Read and merge the kubeconfig files kubectl would use (see the module docstring)."""
    paths, is_explicit = kubeconfig_files(explicit, env=env, home=home)
    documents = []
    for path in paths:
        data = read_file(path, required=is_explicit)
        if data is not None:  # a missing file is skipped, as kubectl does
            documents.append((path, data))
    merged, sources = _merge(documents)
    REDACTOR.add_kubeconfig(merged)
    return Kubeconfig(
        config=merged,
        clusters=tuple(cluster_refs(merged, sources)),
        current_context=merged["current-context"],
        files=tuple(os.fspath(path) for path, _ in documents),
    )
