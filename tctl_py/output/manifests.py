"""`tctl render`: one YAML file per generated object, at stable paths, for GitOps repositories."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tctl_py.output.render import to_yaml

# Written into every render folder; tctl only removes stale files from folders that carry it.
MARKER = ".tctl-render"


def relative_path(cluster: str, kind_plural: str, namespace: str, name: str) -> Path:
    """`<cluster>/<kind>/<namespace>/<name>.yaml`; cluster-scoped objects use `_cluster`."""
    return Path(cluster, kind_plural, namespace or "_cluster", f"{name}.yaml")


@dataclass
class RenderReport:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)


def render(objects: Iterable[tuple[Path, dict]], out_dir: Path, *, prune: bool = True) -> RenderReport:
    """Write each (relative path, body); files whose content is already right are not touched,
    and (with `prune`) YAML files left over from an earlier render of the folder are removed."""
    report = RenderReport()
    out_dir.mkdir(parents=True, exist_ok=True)
    marker = out_dir / MARKER
    owned = marker.exists()
    if not owned and any(out_dir.iterdir()):
        from tctl_py.errors import UsageError

        raise UsageError(f'"{out_dir}" is not empty and was not written by tctl render',
                         hint="render into an empty folder, or one tctl rendered before")
    if not owned:
        marker.write_text("Written by `tctl render`; files here are replaced on every render.\n")
    wanted: set[Path] = set()
    for relative, body in objects:
        path = out_dir / relative
        wanted.add(path)
        text = to_yaml(body)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            report.unchanged.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
        report.written.append(path)
    stale_files = sorted(p for p in out_dir.rglob("*.yaml") if p not in wanted) if prune else []
    for stale in stale_files:
        stale.unlink()
        report.removed.append(stale)
    for folder in sorted((p for p in out_dir.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    return report
