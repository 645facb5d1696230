"""Snapshot fleets: a folder per cluster holding its objects as `kubectl get -o yaml` prints them.

Reading (`--fleet DIR`): every sub-folder of DIR (sorted, hidden ones skipped) is a cluster named
after the folder, or as `tctl-clusters.yaml` in DIR says; its `.yaml`, `.yml` and `.json` files
(any depth, sorted) hold objects, one per document, several per file (`---`), or as a
`kind: List` (also `ServiceList`-style lists, whose items may lack `kind`). Namespace and Service
(`v1`) and DestinationRule (`networking.istio.io`) objects are kept, and their names must be
names an API server accepts; any other kind is ignored. Every problem of every file is reported
at once.

Writing (`tctl snapshot`): a folder per cluster named by `cluster_folder` (the name itself when
it can be one; `tctl-clusters.yaml` records the others), one `kind: List` file per kind per
cluster, keys and items sorted, `managedFields` dropped, Secrets never written, so a snapshot
reads back as the very `ClusterState`s it was written from.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tctl_py.errors import InvalidInput, Position, Problem, UsageError
from tctl_py.fleet import _yaml
from tctl_py.fleet.objects import SECRET_KINDS, STATE_RESOURCES, normalize, object_key, sort_objects
from tctl_py.kube import is_dns1123_label, is_dns1123_subdomain
from tctl_py.mesh.model import ClusterState
from tctl_py.paths import cluster_folder, inside, write_atomically

if TYPE_CHECKING:
    from tctl_py.config.documents import Document

EXTENSIONS = (".yaml", ".yml", ".json")

# The file written for each ClusterState field.
FILE_NAMES = {
    "namespaces": "namespaces.yaml",
    "services": "services.yaml",
    "destination_rules": "destinationrules.yaml",
}

# In DIR: `clusters:`, a list of `{folder, name}` for each folder not named after its cluster.
CLUSTERS_FILE = "tctl-clusters.yaml"
_CLUSTERS_HEADER = (
    "# Written by `tctl snapshot`: the cluster each of these folders holds, for cluster\n"
    "# names that cannot be folder names. Other folders are named after their cluster.\n"
)

# What an API server accepts as the name of each kind kept; namespaces are labels too.
_LABEL = (
    is_dns1123_label,
    (
        "a DNS-1123 label (lowercase letters, digits and '-', "
        "alphanumeric at both ends, at most 63 characters)"
    ),
)
_SUBDOMAIN = (
    is_dns1123_subdomain,
    ("a DNS-1123 subdomain (DNS-1123 labels joined by '.', at most 253 characters)"),
)
_NAME_RULES: dict[str, tuple[Callable[[str], bool], str]] = {
    "namespaces": _LABEL,
    "services": _LABEL,
    "destination_rules": _SUBDOMAIN,
}


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
        default_factory=lambda: {name: {} for name in STATE_RESOURCES}
    )
    seen_at: dict[tuple[str, str, str], Position] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Reading


def read_snapshot(fleet_dir: str | os.PathLike[str]) -> list[ClusterState]:
    """The ClusterStates of a snapshot folder, sorted by name; InvalidInput lists every problem."""
    root = Path(fleet_dir)
    folders = cluster_folders(root)
    names, problems = _cluster_names(root, [folder.name for folder in folders])
    states = []
    for folder in folders:
        cluster = _Cluster(names.get(folder.name, folder.name))
        for path in _files(folder):
            problems += _read_file(cluster, path)
        found = {name: sort_objects(objects.values()) for name, objects in cluster.objects.items()}
        states.append(
            ClusterState(
                name=cluster.name,
                namespaces=found["namespaces"],
                services=found["services"],
                destination_rules=found["destination_rules"],
            )
        )
    if problems:
        raise InvalidInput(problems, f"{len(problems)} problem(s) in the fleet snapshot {root}")
    return sorted(states, key=lambda state: state.name)


def cluster_folders(root: Path) -> list[Path]:
    """The cluster folders of a snapshot, sorted; a UsageError when `root` holds none (no fleet)."""
    if not root.exists():
        raise UsageError(
            f'fleet folder "{root}" does not exist',
            hint="--fleet (or TCTL_FLEET) names a folder written by `tctl snapshot`",
        )
    if not root.is_dir():
        raise UsageError(
            f'fleet "{root}" is not a folder', hint="--fleet names a folder with one sub-folder per cluster"
        )
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise UsageError(
            f'fleet folder "{root}" has no cluster folders',
            hint="each sub-folder of --fleet is a cluster, named after the folder",
        )
    return folders


def _cluster_names(root: Path, folders: list[str]) -> tuple[dict[str, str], list[Problem]]:
    """Folder -> cluster name, as CLUSTERS_FILE says (none without one: a snapshot written
    before it existed, or whose folders are all named after their clusters), and its problems."""
    from tctl_py.config.documents import parse, read_source

    path = root / CLUSTERS_FILE
    if not path.is_file():
        return {}, []
    source = read_source(path)
    if isinstance(source, Problem):
        return {}, [source]
    documents, problems = parse(source)
    if problems:
        return {}, problems
    document = documents[0]
    body = document.body if isinstance(document.body, dict) else {}
    entries = body.get("clusters")
    if len(documents) > 1 or not isinstance(entries, list) or set(body) != {"clusters"}:
        return {}, [
            Problem(
                document.position(),
                "expected one mapping with a `clusters:` list of {folder, name}",
                hint="the file `tctl snapshot` writes; remove it if every folder is named after its cluster",
            )
        ]
    names: dict[str, str] = {}
    named_at: dict[str, Position] = {}  # cluster name -> where the file gives it
    for index, entry in enumerate(entries):
        where = ("clusters", index)
        if (
            not isinstance(entry, dict)
            or set(entry) != {"folder", "name"}
            or not all(isinstance(value, str) and value for value in entry.values())
        ):
            problems.append(
                Problem(
                    document.position(where),
                    "expected {folder: <folder>, name: <cluster name>}, both non-empty strings",
                )
            )
            continue
        folder, name = entry["folder"], entry["name"]
        if folder not in folders:
            problems.append(
                Problem(
                    document.position((*where, "folder")),
                    f'folder "{folder}" is not a cluster folder of {root}',
                    hint="list only the sub-folders that are there",
                )
            )
        elif folder in names:
            problems.append(
                Problem(document.position((*where, "folder")), f'folder "{folder}" is listed twice')
            )
        elif name in named_at:
            problems.append(
                Problem(
                    document.position((*where, "name")),
                    f'cluster name "{name}" is given twice (first at {named_at[name]})',
                )
            )
        else:
            names[folder] = name
            named_at[name] = document.position((*where, "name"))
    for folder in folders:
        if folder not in names and folder in named_at:
            problems.append(
                Problem(
                    named_at[folder],
                    f'cluster name "{folder}" is given twice: the folder "{folder}" is named after it too',
                )
            )
    return names, problems


def _files(folder: Path) -> list[Path]:
    found = []
    for parent, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(parent, f) for f in files if not f.startswith(".") and Path(f).suffix in EXTENSIONS]
    return sorted(found)


def _read_file(cluster: _Cluster, path: Path) -> list[Problem]:
    """The objects of one file, read like `-f` input (positions, duplicate keys, alias bounds)."""
    from tctl_py.config.documents import parse, read_source

    source = read_source(path)
    if isinstance(source, Problem):
        return [source]
    documents, problems = parse(source)
    for document in documents:
        problems += _add(cluster, document)
    return problems


def _add(cluster: _Cluster, document: Document) -> list[Problem]:
    body, position = document.body, document.position()
    if body is None:
        return []
    if not isinstance(body, dict):
        return [Problem(position, f"expected a Kubernetes object (a mapping), found {type(body).__name__}")]
    kind = body.get("kind")
    api_version = body.get("apiVersion") or ""
    if not isinstance(kind, str) or not kind:
        return [
            Problem(
                position, "object has no kind", hint="objects are kept as `kubectl get -o yaml` prints them"
            )
        ]
    field_name = _wanted(str(api_version), kind)
    if field_name is None:
        return []  # a kind the fleet does not need
    metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        return [Problem(position, "object has no metadata.name", kind=kind)]
    resource = STATE_RESOURCES[field_name]
    namespace = metadata.get("namespace")
    if resource.namespaced and (not isinstance(namespace, str) or not namespace):
        return [
            Problem(
                position,
                "object has no metadata.namespace",
                kind=kind,
                name=name,
                hint="objects are kept as `kubectl get -o yaml` prints them, with their namespace",
            )
        ]
    valid, rule = _NAME_RULES[field_name]
    if not valid(name):
        return [
            Problem(
                document.position(("metadata", "name")),
                f'metadata.name "{name}" is not a valid {kind} name: {rule}',
                kind=kind,
                name=name,
            )
        ]
    if resource.namespaced and not is_dns1123_label(str(namespace)):
        return [
            Problem(
                document.position(("metadata", "namespace")),
                f'metadata.namespace "{namespace}" is not a valid namespace name: {_LABEL[1]}',
                kind=kind,
                name=name,
            )
        ]
    obj = normalize(body, resource.api_version, resource.kind)
    key = object_key(obj)
    first = cluster.seen_at.get((field_name, *key))
    if first is not None:
        shown = f"{key[0]}/{key[1]}" if key[0] else key[1]
        return [
            Problem(
                position,
                f'{kind} "{shown}" appears twice in cluster "{cluster.name}" (first at {first})',
                kind=kind,
                name=name,
            )
        ]
    cluster.seen_at[(field_name, *key)] = position
    cluster.objects[field_name][key] = obj
    return []


# ---------------------------------------------------------------------------------------------
# Writing


def snapshot_documents(state: ClusterState) -> dict[str, str]:
    """File name -> YAML text of one cluster's snapshot (pure; what write_snapshot writes)."""
    files = {}
    for field_name, file_name in FILE_NAMES.items():
        resource = STATE_RESOURCES[field_name]
        items = [
            normalize(obj, resource.api_version, resource.kind)
            for obj in getattr(state, field_name)
            if isinstance(obj, Mapping) and obj.get("kind", resource.kind) not in SECRET_KINDS
        ]
        document = {
            "apiVersion": "v1",
            "kind": "List",
            "metadata": {"resourceVersion": ""},
            "items": list(sort_objects(items)),
        }
        files[file_name] = _yaml.dump(document)
    return files


def write_snapshot(states: Iterable[ClusterState], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write one folder per reachable cluster under `out_dir`; return the files written.

    An unreachable cluster is not written: an empty folder would claim it has no services.
    Each file is replaced atomically; other files already in `out_dir` are left alone. A
    cluster already in `out_dir` keeps its folder; a new one gets `cluster_folder(name)`, and
    CLUSTERS_FILE lists every folder not named after its cluster.
    """
    states = list(states)
    names = [state.name for state in states]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UsageError(f"cluster names appear more than once: {', '.join(duplicates)}")
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    earlier = _clusters_there(root)
    folder_of = {name: folder for folder, name in earlier.items()}
    reachable = sorted((s for s in states if s.reachable), key=lambda s: s.name)
    folders = {s.name: folder_of.get(s.name) or cluster_folder(s.name) for s in reachable}
    clusters = {**earlier, **{folder: name for name, folder in folders.items()}}
    entries = [
        {"folder": folder, "name": name} for folder, name in sorted(clusters.items()) if folder != name
    ]
    written = []
    for state in reachable:
        folder = inside(root, Path(folders[state.name]))
        folder.mkdir(exist_ok=True)
        for file_name, text in snapshot_documents(state).items():
            write_atomically(folder / file_name, text)
            written.append(folder / file_name)
    if entries or (root / CLUSTERS_FILE).exists():
        write_atomically(root / CLUSTERS_FILE, _CLUSTERS_HEADER + _yaml.dump({"clusters": entries}))
        written.append(root / CLUSTERS_FILE)
    return written


def _clusters_there(root: Path) -> dict[str, str]:
    """Folder -> cluster name of the cluster folders already in `root`."""
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    names, problems = _cluster_names(root, folders)
    if problems:
        raise InvalidInput(
            problems,
            f"{len(problems)} problem(s) in {root / CLUSTERS_FILE}: "
            "fix or remove it before writing a snapshot there",
        )
    return {folder: names.get(folder, folder) for folder in folders}
