"""`tctl render` is idempotent: rendering the same objects again rewrites nothing, and rendering
a subset removes exactly the files of the objects left out."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tctl_py.errors import InvalidInput, UsageError
from tctl_py.output.manifests import relative_path, render
from tctl_py.paths import cluster_folder

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
    return [
        (relative_path(c, k, ns, n), {"metadata": {"name": n}, "spec": spec})
        for (c, k, ns, n), spec in sorted(unique.items())
    ]


def _by_cluster(files):
    """The groups `render` takes, one per cluster folder, as `tctl render` gives them."""
    groups: dict[str, list] = {}
    for path, body in files:
        groups.setdefault(path.parts[0], []).append((path, body))
    return list(groups.values())


@settings(max_examples=60, deadline=None)
@given(st.lists(OBJECT, max_size=12), st.data())
def test_render_twice_rewrites_nothing_and_a_subset_prunes_the_rest(objects, data):
    files = _files(objects)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out"
        first = render(_by_cluster(files), out)
        assert len(first.written) == len(files) and not first.removed
        mtimes = {p: p.stat().st_mtime_ns for p in first.written}

        again = render(_by_cluster(files), out)
        assert again.written == [] and again.removed == []
        assert {p: p.stat().st_mtime_ns for p in again.unchanged} == mtimes

        kept = data.draw(st.lists(st.sampled_from(files), unique_by=lambda f: str(f[0]))) if files else []
        third = render(_by_cluster(kept), out)
        assert third.written == []
        assert sorted(third.removed) == sorted(out / p for p, _ in files if (p, _) not in kept)
        on_disk = sorted(p.relative_to(out) for p in out.rglob("*.yaml"))
        assert on_disk == sorted(p for p, _ in kept)


ANY_CLUSTER = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20)


@settings(max_examples=30, deadline=None)
@given(st.lists(ANY_CLUSTER, min_size=1, max_size=4, unique=True))
def test_any_cluster_name_renders_inside_the_folder_under_its_own_folder(clusters):
    with tempfile.TemporaryDirectory() as folder:
        top = Path(folder)
        out = top / "a" / "b" / "out"
        files = [
            (relative_path(c, "serviceentries", "bookinfo", "details"), {"cluster": c}) for c in clusters
        ]
        report = render([files], out)
        assert all(p.is_relative_to(out) for p in report.written)
        assert [p.relative_to(top) for p in top.rglob("*") if not p.is_relative_to(out)] == [
            Path("a"),
            Path("a", "b"),
        ]
        assert sorted(p.name for p in out.iterdir()) == sorted(
            [".tctl-render", *map(cluster_folder, clusters)]
        )


@pytest.mark.parametrize(
    ("kind", "namespace", "name", "refused"),
    [
        ("serviceentries", "../evil", "details", 'namespace "../evil"'),
        ("serviceentries", "bookinfo", "../../x", 'name "../../x"'),
        ("serviceentries", "_cluster", "x", 'namespace "_cluster"'),  # only for cluster-scoped ones
        ("../kinds", "bookinfo", "x", 'kind "../kinds"'),
        ("serviceentries", "bookinfo", "a/b", 'name "a/b"'),
    ],
)
def test_names_that_are_not_kubernetes_names_are_never_paths(kind, namespace, name, refused):
    with pytest.raises(InvalidInput) as caught:
        relative_path("cluster-1", kind, namespace, name)
    (problem,) = caught.value.problems
    assert refused in str(problem) and 'cluster "cluster-1"' in str(problem)


def test_the_cluster_folder_is_the_snapshot_folder_of_the_cluster():
    arn = "arn:aws:eks:us-east-1:123456789012:cluster/prod"
    assert relative_path(arn, "namespaces", "", "xcp-multicluster") == Path(
        cluster_folder(arn), "namespaces", "_cluster", "xcp-multicluster.yaml"
    )


def test_a_link_out_of_the_folder_stops_the_render_before_its_cluster_is_written(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    out.mkdir()
    (out / ".tctl-render").write_text("")
    (out / "cluster-2").symlink_to(elsewhere, target_is_directory=True)
    body = {"metadata": {"name": "details"}}
    groups = [
        [
            (relative_path(cluster, "serviceentries", "bookinfo", name), body)
            for name in ("details", "reviews")
        ]
        for cluster in ("cluster-1", "cluster-2")
    ]
    with pytest.raises(UsageError, match="leads outside"):
        render(groups, out)
    assert sorted(p.relative_to(out).parts for p in out.rglob("*.yaml")) == [
        ("cluster-1", "serviceentries", "bookinfo", "details.yaml"),
        ("cluster-1", "serviceentries", "bookinfo", "reviews.yaml"),
    ]
    assert list(elsewhere.iterdir()) == []


def test_an_empty_render_still_marks_the_folder(tmp_path):
    report = render([], tmp_path / "out")
    assert report.written == [] and (tmp_path / "out" / ".tctl-render").is_file()
