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
from .config import ClusterInfo, Workspace
from .findings import Findings


class Coverage:
    def __init__(
        self, workspaces: list[Workspace], clusters: dict[str, ClusterInfo], findings: Findings
    ) -> None:
        self._workspaces = workspaces  # sorted by FQN
        self._clusters = clusters
        self._findings = findings
        self._owners: dict[tuple[str, str], Workspace | None] = {}

    def owner(self, cluster: str, namespace: str) -> Workspace | None:
        """The workspace that owns `cluster/namespace`, or None (memoised: each (cluster,
        namespace) costs one pass over the selectors, however many Services it holds)."""
        key = (cluster, namespace)
        if key in self._owners:
            return self._owners[key]
        org = self._clusters[cluster].organization if cluster in self._clusters else ""
        ranked = []
        for ws in self._workspaces:
            if org and ws.organization != org:
                continue
            rank = ws.specificity(cluster, namespace)
            if rank is not None:
                ranked.append((rank, ws))
        owner = None
        if ranked:
            best = max(rank for rank, _ in ranked)
            owner = next(ws for rank, ws in ranked if rank == best)  # smallest FQN among the best
            if len(ranked) > 1:
                others = ", ".join(ws.fqn for _, ws in ranked if ws is not owner)
                self._findings.add(
                    F.NAMESPACE_OVERLAP,
                    cluster,
                    f"namespace {namespace}",
                    f"covered by several workspaces; {owner.fqn} owns it "
                    f"(most specific selector), not {others}",
                    hint="give each namespace of each cluster to exactly one workspace",
                )
        self._owners[key] = owner
        return owner

    def covers(self, workspace: Workspace, cluster: str, namespace: str) -> bool:
        return self.owner(cluster, namespace) is workspace
