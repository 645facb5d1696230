"""The configuration store on Kubernetes: `--store kube://CONTEXT/NAMESPACE`.

Every stored object is a custom resource of group `tctl.tetrate.io` in NAMESPACE of the
cluster of kubeconfig context CONTEXT (`store/crd.py` says how it looks); etcd behind the API
server is the database, tctl runs no server of its own. The API is reached through the fleet's
client (`fleet/client.py`).

No transaction spans several objects, so consistency is optimistic:
- an apply or delete reads the whole configuration, checks every rule of the batch against it
  and writes nothing when one is broken (as on SQLite);
- writes go parents first (deletes children first), each with the resourceVersion it was read
  at: an object changed by someone else in between is a `ConflictError` (exit 5) naming it,
  never a silent overwrite;
- a failure part-way says exactly what was written; running the command again converges.

Beside the custom resources, the ConfigMap `tctl-store` holds the store's identity (`id`, made
by `tctl store init` or the first write) and its tombstones (`tombstones`, JSON), updated with
resourceVersion preconditions too. The reconcile lock is the Lease `tctl-store-reconcile`,
renewed while held and taken over when its holder stopped renewing it (a killed process).
"""

from __future__ import annotations

import builtins
import contextlib
import json
import math
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tctl_py.config.kinds import KINDS, Kind, stored_kinds
from tctl_py.errors import ConflictError, NotFound, StoreError, TctlError, UsageError
from tctl_py.store import crd
from tctl_py.store.base import (
    ApplyRefused,
    Change,
    StoredObject,
    StoreItem,
    ancestors,
    check,
    check_no_orphans,
    children_first,
    in_subtree,
    normalize,
    now,
)

if TYPE_CHECKING:
    from tctl_py.fleet.client import ClusterClient

SCHEME = "kube://"
STATE_CONFIGMAP = "tctl-store"
LOCK_LEASE = "tctl-store-reconcile"
LEASE_SECONDS = 30  # a lock not renewed for this long is taken over
_CONFLICT_RETRIES = 5  # read-modify-write of the ConfigMap when others write it too
_LOCK_POLL_S = 0.5


def parse(spec: str) -> tuple[str, str]:
    """`kube://CONTEXT/NAMESPACE` -> (context, namespace); an empty context is the
    kubeconfig's current one."""
    rest = spec[len(SCHEME) :]
    context, _, namespace = rest.partition("/")
    if not namespace or "/" in namespace:
        raise UsageError(
            f'"{spec}" is not a Kubernetes store',
            hint="write kube://CONTEXT/NAMESPACE (kube:///NAMESPACE for the current context)",
        )
    return context, namespace


@dataclass(frozen=True)
class _Held:
    """A stored object as read: the resource's name and resourceVersion are the precondition
    of a write."""

    stored: StoredObject
    name: str
    version: str


def _base(kind: Kind, namespace: str) -> str:
    return f"/apis/{crd.GROUP}/{crd.VERSION}/namespaces/{quote(namespace)}/{kind.plural}"


class KubeStore:
    """The configuration store as custom resources in one namespace; open on first use."""

    def __init__(self, spec: str, *, kubeconfig: str | None = None, request_timeout: float = 10.0) -> None:
        self.context, self.namespace = parse(spec)
        self.location = spec
        self._kubeconfig = kubeconfig
        self._request_timeout = request_timeout
        self._client: ClusterClient | None = None
        # kind -> {fqn: resourceVersion} as this command first read them: what it saw and based
        # its writes on (see `_check_unchanged_since_read`)
        self._seen: dict[str, dict[str, str]] = {}

    # --- lifecycle and requests ----------------------------------------------------------------

    def __enter__(self) -> KubeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            client.close()

    def client(self) -> ClusterClient:
        if self._client is None:
            from tctl_py.fleet.client import ClusterClient
            from tctl_py.fleet.kubeconfig import load_kubeconfig

            kubeconfig = load_kubeconfig(self._kubeconfig)
            context = self.context or kubeconfig.current_context
            if not context:
                raise UsageError(
                    f"the store {self.location} names no context and the kubeconfig has no current one",
                    hint="write kube://CONTEXT/NAMESPACE",
                )
            if context not in kubeconfig.names():
                raise UsageError(
                    f'the store {self.location} names context "{context}", which the kubeconfig does not have',
                    hint=f"known contexts: {', '.join(kubeconfig.names()) or 'none'}",
                )
            self._client = ClusterClient(kubeconfig, context, request_timeout=self._request_timeout)
        return self._client

    def _request(
        self,
        method: str,
        path: str,
        doing: str,
        *,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        missing: Callable[[], Any] | None = None,
        conflict: Callable[[], TctlError] | None = None,
        content_type: str | None = None,
    ) -> Any:
        """The JSON answer; `missing()` answers a 404, `conflict()` is raised on a 409."""
        from tctl_py.fleet.client import ClusterRequestError

        try:
            return self.client().request(
                method, path, query=query, body=body, content_type=content_type, doing=doing
            )[1]
        except ClusterRequestError as error:
            if error.status == 404 and missing is not None:
                return missing()
            if error.status == 409 and conflict is not None:
                raise conflict() from None
            raise

    # --- reads ---------------------------------------------------------------------------------

    def _list_kind(self, kind: Kind) -> tuple[builtins.list[_Held], str]:
        """The objects of one kind and the list's resourceVersion ("" when the kind's custom
        resource is not defined: a store not initialised is empty)."""
        listing = self._request(
            "GET", _base(kind, self.namespace), f"listing {kind.plural} of the store", missing=dict
        )
        held = []
        for resource in listing.get("items") or ():
            found = crd.from_resource(kind, resource)
            if found is None:
                continue
            fqn, body, revision, created, updated = found
            parent = ancestors(fqn)[-1] if ancestors(fqn) else None
            meta = resource.get("metadata") or {}
            stored = StoredObject(fqn, kind.kind, parent, body, revision, created, updated)
            held.append(_Held(stored, meta.get("name", ""), str(meta.get("resourceVersion") or "")))
        self._seen.setdefault(kind.kind, {h.stored.fqn: h.version for h in held})
        return held, str((listing.get("metadata") or {}).get("resourceVersion") or "")

    def _state(self, kinds: Sequence[Kind] | None = None) -> dict[str, _Held]:
        state: dict[str, _Held] = {}
        for kind in kinds or stored_kinds():
            for held in self._list_kind(kind)[0]:
                state[held.stored.fqn] = held
        return state

    def get(self, fqn: str) -> StoredObject | None:
        kind = crd.kind_of_fqn(fqn)
        if kind is None:
            return None
        held = self._state([kind]).get(fqn)
        return held.stored if held else None

    def list(self, kind: str | None = None, under: str | None = None) -> builtins.list[StoredObject]:
        """Objects sorted by FQN; `kind` filters on the kind, `under` keeps that FQN and its
        descendants."""
        kinds = [KINDS[kind]] if kind is not None else None
        found = [h.stored for h in self._state(kinds).values()]
        if under is not None:
            found = [s for s in found if in_subtree(s.fqn, under.rstrip("/"))]
        return sorted(found, key=lambda s: s.fqn)

    def _configmap(self) -> dict | None:
        path = f"/api/v1/namespaces/{quote(self.namespace)}/configmaps/{STATE_CONFIGMAP}"
        return self._request("GET", path, "reading the store's ConfigMap", missing=lambda: None)

    def identity(self) -> str:
        found = self._configmap()
        return str(((found or {}).get("data") or {}).get("id") or "")

    def tombstones(self) -> dict[str, str]:
        return {fqn: entry["deleted"] for fqn, entry in sorted(self._tombstones(self._configmap()).items())}

    @staticmethod
    def _tombstones(configmap: dict | None) -> dict[str, dict]:
        try:
            found = json.loads(((configmap or {}).get("data") or {}).get("tombstones") or "{}")
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}

    # --- changes -------------------------------------------------------------------------------

    def change_token(self) -> str:
        """The names and resourceVersions of every stored custom resource, hashed: it changes
        with any create, edit or delete (by tctl or kubectl), and only then. One list a kind."""
        return self._listed()[0]

    def _listed(self) -> tuple[str, dict[str, str]]:
        """(the change token, each kind's list resourceVersion ("" when not defined))."""
        import hashlib

        lines, versions = [], {}
        for kind in stored_kinds():
            held, versions[kind.plural] = self._list_kind(kind)
            lines += sorted(f"{h.stored.fqn} {h.version}" for h in held)
        return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()[:32], versions

    def wait_for_change(self, token: str, timeout: float) -> str:
        """Watch the custom resources of every stored kind from the resourceVersion of their
        lists until one of them changes or `timeout` seconds pass; the current token."""
        current, versions = self._listed()
        if current != token or timeout <= 0:
            return current
        changed = threading.Event()
        streams: builtins.list[Any] = []
        watchers = [
            threading.Thread(
                target=self._watch_one,
                args=(kind, versions[kind.plural], timeout, changed, streams),
                name=f"tctl-store-watch-{kind.plural}",
                daemon=True,
            )
            for kind in stored_kinds()
            if versions[kind.plural]
        ]
        for watcher in watchers:
            watcher.start()
        if watchers:
            changed.wait(timeout)
        else:  # no kind is defined yet (store not initialised): nothing to watch
            time.sleep(timeout)
        changed.set()
        for stream in list(streams):  # the other watches end now, not at their timeout
            with contextlib.suppress(Exception):
                stream.shutdown()
        return self.change_token()

    def _watch_one(
        self, kind: Kind, version: str, timeout: float, changed: threading.Event, streams: builtins.list[Any]
    ) -> None:
        """Stream one watch; set `changed` on its first event that is not a bookmark."""
        client = self.client()
        query = [
            ("watch", "true"),
            ("resourceVersion", version),
            ("timeoutSeconds", str(max(1, math.ceil(timeout)))),
        ]
        try:
            stream = client.watch(
                _base(kind, self.namespace),
                query,
                read_timeout=timeout + 5.0,
                doing=f"watching {kind.plural}",
            )
        except Exception:  # noqa: BLE001 - a broken watch only means waiting out the timeout
            return
        streams.append(stream)
        try:
            if stream.status != 200 or changed.is_set():
                return
            for line in stream.lines():
                if changed.is_set():
                    return
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("type") in ("ADDED", "MODIFIED", "DELETED", "ERROR"):
                    changed.set()
                    return
        except Exception:  # noqa: BLE001 - the connection broke: the caller re-lists
            changed.set()
        finally:
            stream.close()

    # --- the reconcile lock ----------------------------------------------------------------------

    @contextlib.contextmanager
    def reconcile_lock(self, doing: str, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the Lease `tctl-store-reconcile` of the store's namespace for the block.

        Taken by creating it (or replacing an expired one, with its resourceVersion), renewed
        every third of LEASE_SECONDS while held, deleted at the end. `on_wait(holder)` is
        called once when someone else holds it; the wait lasts until it is released or expires.
        Expired means not renewed for its leaseDurationSeconds as timed here (the holder's
        clock may differ from ours), as client-go's leader election does.
        """
        holder = f"pid {os.getpid()} on {socket.gethostname()}: {doing}"
        self._state()  # what the command sees before it waits: changes made meanwhile conflict
        observed: dict[str, Any] = {}  # the other holder's Lease: its resourceVersion, seen since
        waited = False
        while True:
            taken = self._take_lease(holder, observed)
            if taken is not None:
                break
            if not waited and on_wait is not None:
                on_wait(self._lease_holder() or "another process")
            waited = True
            time.sleep(_LOCK_POLL_S)
        stop = threading.Event()
        renewer = threading.Thread(
            target=self._renew_lease, args=(taken, stop), name="tctl-store-lock", daemon=True
        )
        renewer.start()
        try:
            yield
        finally:
            self._seen.clear()
            stop.set()
            renewer.join()
            self._request(
                "DELETE",
                self._lease_path(),
                "releasing the store's reconcile lock",
                body={"preconditions": {"uid": taken["metadata"]["uid"]}},
                missing=lambda: None,
                conflict=lambda: StoreError("the store's reconcile lock was taken over while held"),
            )

    def _lease_path(self, name: str = LOCK_LEASE) -> str:
        base = f"/apis/coordination.k8s.io/v1/namespaces/{quote(self.namespace)}/leases"
        return f"{base}/{name}" if name else base

    def _lease_holder(self) -> str:
        found = self._request("GET", self._lease_path(), "reading the store's lock", missing=lambda: None)
        return str(((found or {}).get("spec") or {}).get("holderIdentity") or "")

    def _take_lease(self, holder: str, observed: dict[str, Any]) -> dict | None:
        """The Lease, now ours; None when someone else holds it (`observed`: when its current
        resourceVersion was first seen, kept between calls)."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        spec = {
            "holderIdentity": holder,
            "leaseDurationSeconds": LEASE_SECONDS,
            "acquireTime": stamp,
            "renewTime": stamp,
        }
        body: dict[str, Any] = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": LOCK_LEASE, "namespace": self.namespace},
            "spec": spec,
        }
        current = self._request("GET", self._lease_path(), "reading the store's lock", missing=lambda: None)
        if current is None:
            try:
                return self._request(
                    "POST",
                    self._lease_path(""),
                    "taking the store's reconcile lock",
                    body=body,
                    conflict=_Busy,
                    missing=self._missing_namespace,
                )
            except _Busy:
                return None
        version = current["metadata"]["resourceVersion"]
        if observed.get("version") != version:
            observed.update(version=version, since=time.monotonic())
        duration = float((current.get("spec") or {}).get("leaseDurationSeconds") or LEASE_SECONDS)
        if time.monotonic() - observed["since"] <= duration:
            return None
        body["metadata"]["resourceVersion"] = version
        try:
            return self._request(
                "PUT", self._lease_path(), "taking over the store's expired lock", body=body, conflict=_Busy
            )
        except _Busy:
            return None

    def _renew_lease(self, lease: dict, stop: threading.Event) -> None:
        while not stop.wait(LEASE_SECONDS / 3):
            lease["spec"]["renewTime"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            try:
                lease.update(
                    self._request("PUT", self._lease_path(), "renewing the store's lock", body=lease)
                )
            except TctlError:
                return  # lost: the end of the block says so when it cannot delete it

    def _missing_namespace(self) -> Any:
        raise StoreError(
            f"the namespace {self.namespace} of the store {self.location} does not exist",
            hint=f"create it with `tctl --store {self.location} store init`",
        )

    # --- writes --------------------------------------------------------------------------------

    def _require_store(self) -> None:
        """Writes need the custom resources defined (`tctl store init`)."""
        path = f"/apis/{crd.GROUP}/{crd.VERSION}"
        found = self._request("GET", path, "looking for the store's resources", missing=lambda: None)
        served = {r.get("name") for r in (found or {}).get("resources") or ()}
        missing = [k.plural for k in stored_kinds() if k.plural not in served]
        if missing:
            raise StoreError(
                f"the store {self.location} is not initialised ({', '.join(missing)} not defined)",
                hint=f"run `tctl --store {self.location} store init` once (it needs rights on CRDs)",
            )

    def apply(
        self,
        items: Sequence[StoreItem],
        *,
        dry_run: bool = False,
        replace_under: Sequence[str] = (),
    ) -> builtins.list[Change]:
        """As the SQLite store's apply: every rule checked against the store's current state
        before the first write; then writes parents first, each with its resourceVersion
        precondition; deletions of `replace_under` children first."""
        batch, problems = normalize(items)
        state = self._state()
        problems += check(
            batch,
            lambda fqn: fqn in state,
            lambda parent, kind: sorted(
                f for f, h in state.items() if h.stored.parent == parent and h.stored.kind == kind
            ),
        )
        if problems:
            raise ApplyRefused(problems)
        changes: builtins.list[Change] = []
        for item in batch:
            after = json.loads(item.text)
            held = state.get(item.fqn)
            if held is None:
                changes.append(Change(item.fqn, item.kind, "created", None, after))
            elif held.stored.body == after:
                changes.append(Change(item.fqn, item.kind, "unchanged", after, after))
            else:
                changes.append(Change(item.fqn, item.kind, "configured", held.stored.body, after))
        kept = {i.fqn for i in batch} | {a for i in batch for a in ancestors(i.fqn)}
        doomed = [
            fqn
            for fqn in state
            if fqn not in kept and any(in_subtree(fqn, root.rstrip("/")) for root in replace_under)
        ]
        deletions = [
            Change(f, state[f].stored.kind, "deleted", state[f].stored.body, None)
            for f in children_first(doomed)
        ]
        if dry_run:
            return changes + deletions
        self._require_store()
        written: builtins.list[str] = []
        with self._reporting(written):
            self._check_unchanged_since_read(
                [c.fqn for c in changes if c.action != "unchanged"] + [c.fqn for c in deletions], state
            )
            self._ensure_identity()
            stamp = now()
            for change in changes:
                if change.action == "unchanged":
                    continue
                self._write(change, state.get(change.fqn), stamp)
                written.append(f"{change.fqn} {change.action}")
            self._update_tombstones(lift=[i.fqn for i in batch], add=[])
            for change in deletions:
                self._remove(state[change.fqn])
                written.append(f"{change.fqn} deleted")
            self._update_tombstones(lift=[], add=[(c.fqn, c.kind) for c in deletions])
        return changes + deletions

    def _check_unchanged_since_read(self, fqns: Sequence[str], state: dict[str, _Held]) -> None:
        """Optimistic concurrency across the whole command: an object about to be written that
        someone else created, changed or deleted since this command first read it (while it
        waited for the reconcile lock, say) is a conflict, as a stale resourceVersion is. What
        the command read is forgotten afterwards (the next write starts from a new read)."""
        try:
            for fqn in fqns:
                kind = crd.kind_of_fqn(fqn)
                seen = self._seen.get(kind.kind) if kind is not None else None
                if seen is None:
                    continue
                current = state[fqn].version if fqn in state else None
                if seen.get(fqn) != current:
                    how = "created" if fqn not in seen else "deleted" if current is None else "changed"
                    raise ConflictError(
                        f"{fqn} was {how} by someone else since this command first read the store",
                        hint="look at the store's new state (tctl get), then run the command again",
                    )
        finally:
            self._seen.clear()

    def _write(self, change: Change, held: _Held | None, stamp: str) -> None:
        kind = KINDS[change.kind]
        assert change.after is not None
        revision = held.stored.revision + 1 if held else 1
        resource = crd.to_resource(change.fqn, kind, change.after, self.namespace, revision, stamp)
        what = f"{change.fqn}"
        if held is None:
            self._request(
                "POST",
                _base(kind, self.namespace),
                f"creating {what}",
                body=resource,
                conflict=lambda: ConflictError(
                    f"{what} was created by someone else since this command read the store",
                    hint="run the command again: it applies over the new state",
                ),
                missing=self._missing_namespace,
            )
            return
        resource["metadata"]["resourceVersion"] = held.version
        self._request(
            "PUT",
            f"{_base(kind, self.namespace)}/{held.name}",
            f"updating {what}",
            body=resource,
            conflict=lambda: _changed(what),
            missing=lambda: _changed(what, deleted=True),
        )

    def _remove(self, held: _Held) -> None:
        what = held.stored.fqn
        self._request(
            "DELETE",
            f"{_base(KINDS[held.stored.kind], self.namespace)}/{held.name}",
            f"deleting {what}",
            body={"preconditions": {"resourceVersion": held.version}},
            conflict=lambda: _changed(what),
            missing=lambda: _changed(what, deleted=True),
        )

    @contextlib.contextmanager
    def _reporting(self, written: builtins.list[str]) -> Iterator[None]:
        """A failure part-way says what was written before it."""
        try:
            yield
        except TctlError as error:
            if written:
                error.message += (
                    "\nwritten before the failure:\n" + "".join(f"  {w}\n" for w in written).rstrip()
                )
                error.message += "\nrun the command again to finish"
            else:
                error.message += "; nothing was written"
            error.args = (error.message,)
            raise

    def delete(
        self, fqns: Sequence[str], *, dry_run: bool = False, cascade: bool = False
    ) -> builtins.list[Change]:
        """Delete each object (with `cascade`, and everything under it), children first, each
        with its resourceVersion precondition, leaving tombstones. Raises NotFound naming every
        unknown FQN, DeleteRefused when an object has children that are not deleted too,
        having deleted nothing."""
        targets = list(dict.fromkeys(f.rstrip("/") for f in fqns))
        state = self._state()
        missing = [f for f in targets if f not in state]
        if missing:
            raise NotFound(
                f"not found in the store {self.location}: {', '.join(missing)}",
                hint="nothing was deleted; `tctl get` lists what the store holds",
            )
        doomed = children_first([f for f in state if any(in_subtree(f, t) for t in targets)])
        if not cascade:
            check_no_orphans(targets, doomed)
        changes = [Change(f, state[f].stored.kind, "deleted", state[f].stored.body, None) for f in doomed]
        if dry_run:
            return changes
        written: builtins.list[str] = []
        with self._reporting(written):
            self._check_unchanged_since_read(doomed, state)
            for fqn in doomed:
                self._remove(state[fqn])
                written.append(f"{fqn} deleted")
            self._update_tombstones(lift=[], add=[(c.fqn, c.kind) for c in changes])
        return changes

    # --- the ConfigMap: identity and tombstones ---------------------------------------------------

    def _ensure_identity(self) -> str:
        found = self._configmap()
        if found is not None and (found.get("data") or {}).get("id"):
            return str(found["data"]["id"])
        if found is None:
            body = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": STATE_CONFIGMAP,
                    "namespace": self.namespace,
                    "labels": dict(crd.MANAGED_BY),
                },
                "data": {"id": secrets.token_hex(8), "tombstones": "{}"},
            }
            with contextlib.suppress(_Busy):  # made by someone else meanwhile: theirs stands
                self._request(
                    "POST",
                    f"/api/v1/namespaces/{quote(self.namespace)}/configmaps",
                    "creating the store's ConfigMap",
                    body=body,
                    conflict=_Busy,
                    missing=self._missing_namespace,
                )
            return self.identity()
        self._modify_configmap(lambda data: data.setdefault("id", secrets.token_hex(8)))
        return self.identity()

    def _update_tombstones(self, *, lift: Sequence[str], add: Sequence[tuple[str, str]]) -> None:
        stamp = now()

        def change(data: dict) -> None:
            stones = self._tombstones({"data": data})
            for fqn in lift:
                stones.pop(fqn, None)
            for fqn, kind in add:
                stones[fqn] = {"kind": kind, "deleted": stamp}
            data["tombstones"] = json.dumps(stones, separators=(",", ":"), sort_keys=True)

        current = self._tombstones(self._configmap())
        if not add and not any(f in current for f in lift):
            return
        self._modify_configmap(change)

    def _modify_configmap(self, change: Callable[[dict], Any]) -> None:
        """Read, change and replace the ConfigMap with its resourceVersion, again on a conflict."""
        path = f"/api/v1/namespaces/{quote(self.namespace)}/configmaps/{STATE_CONFIGMAP}"
        for _attempt in range(_CONFLICT_RETRIES):
            found = self._configmap()
            if found is None:
                self._ensure_identity()
                continue
            data = dict(found.get("data") or {})
            change(data)
            found["data"] = data
            try:
                self._request("PUT", path, "updating the store's ConfigMap", body=found, conflict=_Busy)
                return
            except _Busy:
                continue
        raise ConflictError(f"the ConfigMap {STATE_CONFIGMAP} of the store {self.location} kept changing")

    # --- tctl store init --------------------------------------------------------------------------

    def init(self) -> builtins.list[tuple[str, str]]:
        """Install (server-side apply, field manager tctl) the namespace and one
        CustomResourceDefinition per stored kind, and make the store's identity; idempotent.
        Returns (what, action) pairs: "created" or "unchanged"/"configured"."""
        done = []
        done.append((f"namespace/{self.namespace}", self._ensure_namespace()))
        for definition in crd.definitions():
            name = definition["metadata"]["name"]
            path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
            done.append((f"customresourcedefinition/{name}", self._server_apply(path, definition)))
        self._wait_served()
        had = self.identity()
        self._ensure_identity()
        done.append((f"configmap/{STATE_CONFIGMAP}", "unchanged" if had else "created"))
        return done

    def _ensure_namespace(self) -> str:
        """Create the namespace when it is missing; one that exists is left as it is (its
        owner may have labelled it, or given it quotas)."""
        path = f"/api/v1/namespaces/{quote(self.namespace)}"
        if self._request("GET", path, "reading the store's namespace", missing=lambda: None):
            return "unchanged"
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}
        with contextlib.suppress(_Busy):
            self._request(
                "POST", "/api/v1/namespaces", "creating the store's namespace", body=body, conflict=_Busy
            )
        return "created"

    def _server_apply(self, path: str, body: dict) -> str:
        before = self._request("GET", path, f"reading {path}", missing=lambda: None)
        after = self._request(
            "PATCH",
            path,
            f"applying {body['kind']} {body['metadata']['name']}",
            query=[("fieldManager", "tctl"), ("force", "true")],
            body=body,
            content_type="application/apply-patch+yaml",
        )
        if before is None:
            return "created"
        same = before.get("metadata", {}).get("resourceVersion") == after.get("metadata", {}).get(
            "resourceVersion"
        )
        return "unchanged" if same else "configured"

    def _wait_served(self, timeout: float = 30.0) -> None:
        """A new CRD is served a moment after it is created (when it is Established)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._require_store()
                return
            except StoreError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


class _Busy(TctlError):
    """Someone else got there first (a 409): the caller reads again or waits."""

    def __init__(self) -> None:
        super().__init__("taken by someone else")


def _changed(what: str, *, deleted: bool = False) -> ConflictError:
    how = "deleted" if deleted else "changed"
    return ConflictError(
        f"{what} was {how} by someone else since this command read the store",
        hint="run the command again: it applies over the new state",
    )
