"""`tctl render`: one YAML file per generated object, at stable paths, for GitOps repositories.

Nothing is written or removed outside the output folder: every path component is a checked
name (the cluster's through `cluster_folder`, the others valid Kubernetes names), and every path
is checked again once symbolic links are resolved.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tctl_py.errors import InvalidInput, Position, Problem, UsageError
from tctl_py.kube import is_dns1123_label, is_dns1123_subdomain
from tctl_py.output.render import to_yaml
from tctl_py.paths import cluster_folder, inside, write_atomically

# Written into every render folder; tctl only removes stale files from folders that carry it.
MARKER = ".tctl-render"
CLUSTER_SCOPED = "_cluster"  # the namespace folder of cluster-scoped objects


def relative_path(cluster: str, kind_plural: str, namespace: str, name: str) -> Path:
    """`<cluster folder>/<kind>/<namespace>/<name>.yaml`; cluster-scoped objects use `_cluster`.

    Kind, namespace and name must be what an API server accepts (a DNS-1123 label, label and
    subdomain): such names hold no '/' and are never '.' or '..'. InvalidInput otherwise.
    """
    for value, valid, what in (
        (kind_plural, is_dns1123_label, "kind"),
        (namespace, _namespace, "namespace"),
        (name, is_dns1123_subdomain, "name"),
    ):
        if not valid(value):
            shown = f"{namespace}/{name}" if namespace else name
            raise InvalidInput(
                [
                    Problem(
                        Position(f'cluster "{cluster}"'),
                        f'{what} "{value}" is not a valid Kubernetes name, so it is no file name',
                        kind=kind_plural,
                        name=shown,
                        hint="an API server never holds such a name: fix the snapshot the fleet was read from",
                    )
                ],
                "nothing of this cluster was rendered",
            )
    return Path(cluster_folder(cluster), kind_plural, namespace or CLUSTER_SCOPED, f"{name}.yaml")


def _namespace(value: str) -> bool:
    return not value or is_dns1123_label(value)  # "" for cluster-scoped objects


@dataclass
class RenderReport:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)


def render(
    groups: Iterable[Iterable[tuple[Path, dict]]], out_dir: Path, *, prune: bool = True
) -> RenderReport:
    """Write each (relative path, body) under `out_dir`, a group (a cluster's objects) at a time:
    every path of a group is checked before any of its files is written, and only one group is
    held at once. Files whose content is already right are not touched, and (with `prune`) YAML
    files left over from an earlier render of the folder are removed."""
    report = RenderReport()
    out_dir.mkdir(parents=True, exist_ok=True)
    root = out_dir.resolve()
    marker = root / MARKER
    owned = marker.is_file()
    if not owned and any(root.iterdir()):
        raise UsageError(
            f'"{out_dir}" is not empty and was not written by tctl render',
            hint="render into an empty folder, or one tctl rendered before",
        )
    wanted: set[Path] = set()
    for group in groups:
        targets = {inside(root, relative): body for relative, body in group}
        if not owned:
            owned = _claim(marker)
        for path, body in targets.items():
            text = to_yaml(body)
            if path.is_file() and path.read_text(encoding="utf-8") == text:
                report.unchanged.append(path)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, text)
            report.written.append(path)
        wanted.update(targets)
    if not owned:
        _claim(marker)
    if prune:
        report.removed = _remove_stale(root, wanted)
    return report


def _claim(marker: Path) -> bool:
    marker.write_text("Written by `tctl render`; files here are replaced on every render.\n")
    return True


def _remove_stale(root: Path, wanted: set[Path]) -> list[Path]:
    """Remove the YAML files under `root` that are not `wanted`, then the folders left empty.

    The walk never enters a linked folder, and a linked file is compared by what it leads to
    but only the link itself is removed: nothing outside `root` is ever deleted.
    """
    removed = []
    for folder, _, files in os.walk(root, topdown=False):  # a folder after what it holds
        for file_name in sorted(files):
            path = Path(folder, file_name)
            if path.suffix == ".yaml" and path.resolve() not in wanted:
                path.unlink()
                removed.append(path)
        if folder != str(root) and not os.listdir(folder):
            os.rmdir(folder)
    return sorted(removed)
