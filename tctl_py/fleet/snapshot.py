"""Snapshot fleets: a folder per cluster holding its objects as `kubectl get -o yaml` prints them.

Reading (`--fleet DIR`): every sub-folder of DIR (sorted, hidden ones skipped) is a cluster named
after the folder; its `.yaml`, `.yml` and `.json` files (any depth, sorted) hold objects, one per
document, several per file (`---`), or as a `kind: List` (also `ServiceList`-style lists, whose
items may lack `kind`). Namespace and Service (`v1`) and DestinationRule (`networking.istio.io`)
objects are kept; any other kind is ignored. Every problem of every file is reported at once.

Writing (`tctl snapshot`): one `kind: List` file per kind per cluster, keys and items sorted,
`managedFields` dropped, Secrets never written, so a snapshot reads back as the very
`ClusterState`s it was written from.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


from tctl_py.errors import InvalidInput, Position, Problem, UsageError
from tctl_py.fleet import _yaml
from tctl_py.fleet.objects import SECRET_KINDS, STATE_RESOURCES, normalize, object_key, sort_objects
from tctl_py.mesh.model import ClusterState

EXTENSIONS = (".yaml", ".yml", ".json")

# The file written for each ClusterState field.
FILE_NAMES = {"namespaces": "namespaces.yaml", "services": "services.yaml",
              "destination_rules": "destinationrules.yaml"}


def _wanted(api_version: str, kind: str) -> str | None:
    """The ClusterState field an object belongs to, or None to ignore it."""
    for field_name, resource in STATE_RESOURCES.items():
        if kind != resource.kind:
            continue
        group = api_version.rpartition("/")[0] if "/" in api_version else ""
        if not api_version or group == resource.group:  # any version of the right group
            return field_name
    return None


@dataclass
class _Cluster:
    name: str
    objects: dict[str, dict[tuple[str, str], dict]] = field(
        default_factory=lambda: {name: {} for name in STATE_RESOURCES})
    seen_at: dict[tuple[str, str, str], Position] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Reading

def read_snapshot(fleet_dir: str | os.PathLike[str]) -> list[ClusterState]:
    """The ClusterStates of a snapshot folder, sorted by name; InvalidInput lists every problem."""
    root = Path(fleet_dir)
    if not root.exists():
        raise UsageError(f'fleet folder "{root}" does not exist',
                         hint="--fleet (or TCTL_FLEET) names a folder written by `tctl snapshot`")
    if not root.is_dir():
        raise UsageError(f'fleet "{root}" is not a folder',
                         hint="--fleet names a folder with one sub-folder per cluster")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise UsageError(f'fleet folder "{root}" has no cluster folders',
                         hint="each sub-folder of --fleet is a cluster, named after the folder")
    problems: list[Problem] = []
    states = []
    for folder in folders:
        cluster = _Cluster(folder.name)
        for path in _files(folder):
            problems += _read_file(cluster, path)
        states.append(ClusterState(
            name=cluster.name,
            **{name: sort_objects(found.values()) for name, found in cluster.objects.items()},
        ))
    if problems:
        raise InvalidInput(problems, f"{len(problems)} problem(s) in the fleet snapshot {root}")
    return states


def _files(folder: Path) -> list[Path]:
    found = []
    for parent, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(parent, f) for f in files
                  if not f.startswith(".") and Path(f).suffix in EXTENSIONS]
    return sorted(found)


def _read_file(cluster: _Cluster, path: Path) -> list[Problem]:
    """The objects of one file, read like `-f` input (positions, duplicate keys, alias bounds)."""
    from tctl_py.config.documents import parse, read_source

    source = read_source(path)
    if isinstance(source, Problem):
        return [source]
    documents, problems = parse(source)
    for document in documents:
        problems += _add(cluster, Position(document.source, document.line, document.column), document.body)
    return problems


def _add(cluster: _Cluster, position: Position, body: object) -> list[Problem]:
    if body is None:
        return []
    if not isinstance(body, dict):
        return [Problem(position, "expected a Kubernetes object (a mapping), found "
                        f"{type(body).__name__}")]
    kind = body.get("kind")
    api_version = body.get("apiVersion") or ""
    if not isinstance(kind, str) or not kind:
        return [Problem(position, "object has no kind",
                        hint="objects are kept as `kubectl get -o yaml` prints them")]
    field_name = _wanted(str(api_version), kind)
    if field_name is None:
        return []  # a kind the fleet does not need
    metadata = body.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str) or not name:
        return [Problem(position, "object has no metadata.name", kind=kind)]
    resource = STATE_RESOURCES[field_name]
    namespace = metadata.get("namespace")
    if resource.namespaced and (not isinstance(namespace, str) or not namespace):
        return [Problem(position, "object has no metadata.namespace", kind=kind, name=name,
                        hint="objects are kept as `kubectl get -o yaml` prints them, with their namespace")]
    obj = normalize(body, resource.api_version, resource.kind)
    key = object_key(obj)
    first = cluster.seen_at.get((field_name, *key))
    if first is not None:
        shown = f"{key[0]}/{key[1]}" if key[0] else key[1]
        return [Problem(position, f'{kind} "{shown}" appears twice in cluster "{cluster.name}" '
                        f"(first at {first})", kind=kind, name=name)]
    cluster.seen_at[(field_name, *key)] = position
    cluster.objects[field_name][key] = obj
    return []


# ---------------------------------------------------------------------------------------------
# Writing

def check_cluster_name(name: str) -> None:
    """A cluster name must be usable as a folder name that reads back as the same name."""
    if (not name or name in (".", "..") or name.startswith(".")
            or any(ch in name for ch in ("/", "\\", "\0"))):
        raise UsageError(f'cluster name "{name}" cannot be a snapshot folder name',
                         hint="rename the kubeconfig context: no '/', '\\', or leading '.'")


def snapshot_documents(state: ClusterState) -> dict[str, str]:
    """File name -> YAML text of one cluster's snapshot (pure; what write_snapshot writes)."""
    files = {}
    for field_name, file_name in FILE_NAMES.items():
        resource = STATE_RESOURCES[field_name]
        items = [normalize(obj, resource.api_version, resource.kind)
                 for obj in getattr(state, field_name)
                 if isinstance(obj, Mapping) and obj.get("kind", resource.kind) not in SECRET_KINDS]
        document = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
                    "items": list(sort_objects(items))}
        files[file_name] = _yaml.dump(document)
    return files


def write_snapshot(states: Iterable[ClusterState], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write one folder per reachable cluster under `out_dir`; return the files written.

    An unreachable cluster is not written: an empty folder would claim it has no services.
    Each file is replaced atomically; other files already in `out_dir` are left alone.
    """
    states = list(states)
    names = [state.name for state in states]
    for name in names:
        check_cluster_name(name)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UsageError(f"cluster names appear more than once: {', '.join(duplicates)}")
    root = Path(out_dir)
    written = []
    for state in sorted(states, key=lambda s: s.name):
        if not state.reachable:
            continue
        folder = root / state.name
        folder.mkdir(parents=True, exist_ok=True)
        for file_name, text in snapshot_documents(state).items():
            written.append(_write_atomically(folder / file_name, text))
    return written


def _write_atomically(path: Path, text: str) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; a snapshot holds no secrets
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path
