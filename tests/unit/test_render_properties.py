"""`tctl render` is idempotent: rendering the same objects again rewrites nothing, and rendering
a subset removes exactly the files of the objects left out."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tctl_py.output.manifests import relative_path, render

NAME = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)
OBJECT = st.tuples(
    st.sampled_from(["cluster-1", "cluster-2"]),
    st.sampled_from(["serviceentries", "workloadentries", "namespaces"]),
    st.sampled_from(["", "bookinfo", "xcp-multicluster"]),
    NAME,
    st.dictionaries(NAME, st.one_of(st.integers(), NAME), max_size=4),
)


def _files(objects):
    unique = {(c, k, ns, n): spec for c, k, ns, n, spec in objects}
    return [(relative_path(c, k, ns, n), {"metadata": {"name": n}, "spec": spec})
            for (c, k, ns, n), spec in sorted(unique.items())]


@settings(max_examples=60, deadline=None)
@given(st.lists(OBJECT, max_size=12), st.data())
def test_render_twice_rewrites_nothing_and_a_subset_prunes_the_rest(objects, data):
    files = _files(objects)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out"
        first = render(files, out)
        assert len(first.written) == len(files) and not first.removed
        mtimes = {p: p.stat().st_mtime_ns for p in first.written}

        again = render(files, out)
        assert again.written == [] and again.removed == []
        assert {p: p.stat().st_mtime_ns for p in again.unchanged} == mtimes

        kept = data.draw(st.lists(st.sampled_from(files), unique_by=lambda f: str(f[0]))) if files else []
        third = render(kept, out)
        assert third.written == []
        assert sorted(third.removed) == sorted(out / p for p, _ in files if (p, _) not in kept)
        on_disk = sorted(p.relative_to(out) for p in out.rglob("*.yaml"))
        assert on_disk == sorted(p for p, _ in kept)
