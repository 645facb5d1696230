"""Workspace coverage (SPEC §4 rule 1) and namespace ownership (rule 9).

A namespace of a cluster belongs to at most one workspace (Tetrate: "namespaces are owned
exclusively by a workspace"). When several workspaces' selectors match, the most specific
selector owns it (exact namespace > longer prefix > `*`, then exact cluster > `*`; ties: the
smallest workspace FQN) and a finding reports the overlap. Ownership, not mere matching, is what
every rule uses: it keeps one writer per namespace, so generated names cannot collide across
workspaces.

A cluster that has a Cluster object belongs to that object's organization; workspaces of other
organizations never cover it (a `*` cluster pattern means "every cluster of my organization").
"""

from __future__ import annotations

from . import findings as F
from .findings import Findings
from .parsed import ClusterInfo, Workspace


class Coverage:
    """Depends on the configuration only, so one instance serves every run over the same
    configuration (the incremental engine keeps it across fleet changes)."""

    def __init__(self, workspaces: list[Workspace], clusters: dict[str, ClusterInfo]) -> None:
        self._workspaces = workspaces  # sorted by FQN
        self._clusters = clusters
        # (cluster, namespace) -> (owner, the other workspaces whose selectors also match)
        self._owners: dict[tuple[str, str], tuple[Workspace | None, tuple[Workspace, ...]]] = {}

    def owner(self, cluster: str, namespace: str, findings: Findings | None = None) -> Workspace | None:
        """The workspace that owns `cluster/namespace`, or None (memoised: each (cluster,
        namespace) costs one pass over the selectors, however many Services it holds).

        `findings` receives the overlap finding, if any, on every call that passes it: the
        findings of a cluster are collected per cluster, so each pass over a cluster reports
        the overlaps it met whatever was memoised before."""
        key = (cluster, namespace)
        found = self._owners.get(key)
        if found is None:
            found = self._owners[key] = self._rank(cluster, namespace)
        owner, others = found
        if others and findings is not None:
            assert owner is not None
            findings.add(
                F.Code.NAMESPACE_OVERLAP,
                cluster,
                f"namespace {namespace}",
                f"covered by several workspaces; {owner.fqn} owns it "
                f"(most specific selector), not {', '.join(ws.fqn for ws in others)}",
                hint="give each namespace of each cluster to exactly one workspace",
            )
        return owner

    def _rank(self, cluster: str, namespace: str) -> tuple[Workspace | None, tuple[Workspace, ...]]:
        org = self._clusters[cluster].organization if cluster in self._clusters else ""
        ranked = []
        for ws in self._workspaces:
            if org and ws.organization != org:
                continue
            rank = ws.specificity(cluster, namespace)
            if rank is not None:
                ranked.append((rank, ws))
        if not ranked:
            return None, ()
        best = max(rank for rank, _ in ranked)
        owner = next(ws for rank, ws in ranked if rank == best)  # smallest FQN among the best
        return owner, tuple(ws for _, ws in ranked if ws is not owner)

    def covers(self, workspace: Workspace, cluster: str, namespace: str, findings: Findings) -> bool:
        return self.owner(cluster, namespace, findings) is workspace
