"""Cluster folder names and paths kept inside an output folder (tctl_py/paths.py), on the real
file system of the test's temporary folder."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tctl_py.errors import UsageError
from tctl_py.paths import MAX_FOLDER_NAME, cluster_folder, inside, write_atomically

# Any character, lone surrogates included (a context name read from JSON may hold one). At most
# 20 characters: 12 bytes once encoded each at worst, so every such name fits in a folder name.
any_name = st.text(st.characters(exclude_categories=()), min_size=1, max_size=20)
kept = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.@:+=,"


@given(any_name)
@settings(max_examples=300, deadline=None)
def test_property_any_name_is_one_safe_path_component_that_decodes_back(name):
    folder = cluster_folder(name)
    assert folder.isascii() and folder.isprintable()
    assert "/" not in folder and "\\" not in folder and not folder.startswith(".")
    assert Path(folder).parts == (folder,) and len(folder) <= MAX_FOLDER_NAME
    assert unquote(folder, errors="surrogatepass") == name


@given(any_name, st.data())
@settings(max_examples=300, deadline=None)
def test_property_distinct_names_give_distinct_folders(first, data):
    # besides any other name: the ones most likely to collide with it
    second = data.draw(
        st.one_of(
            any_name,
            st.sampled_from(
                [cluster_folder(first), unquote(first), first.replace("/", "%2F"), "." + first, first[1:]]
            ),
        )
    )
    assume(second and first != second)
    assert cluster_folder(first) != cluster_folder(second)


@given(st.text(kept, min_size=1, max_size=40).filter(lambda name: not name.startswith(".")))
def test_property_names_made_of_kept_characters_are_their_own_folder(name):
    assert cluster_folder(name) == name


@given(st.lists(any_name, min_size=1, max_size=6, unique=True))
@settings(max_examples=50, deadline=None)
def test_property_each_folder_is_a_direct_child_on_disk(tmp_path_factory, names):
    root = tmp_path_factory.mktemp("folders").resolve()
    for name in names:
        (root / cluster_folder(name)).mkdir()
    assert sorted(p.name for p in root.iterdir()) == sorted(map(cluster_folder, names))
    assert all(p.resolve().parent == root for p in root.iterdir())


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("cluster-1", "cluster-1"),
        ("admin@prod", "admin@prod"),
        ("gke_my-project_europe-west1-b_prod", "gke_my-project_europe-west1-b_prod"),
        (
            "arn:aws:eks:us-east-1:123456789012:cluster/prod",
            "arn:aws:eks:us-east-1:123456789012:cluster%2Fprod",
        ),
        ("/tmp/x", "%2Ftmp%2Fx"),
        ("../x", "%2E.%2Fx"),
        ("..", "%2E."),
        (".", "%2E"),
        ("my cluster", "my%20cluster"),
        ("50%", "50%25"),
        ("zürich", "z%C3%BCrich"),
    ],
)
def test_examples_of_folder_names(name, folder):
    assert cluster_folder(name) == folder


def test_empty_and_too_long_names_are_refused():
    with pytest.raises(UsageError, match="empty name"):
        cluster_folder("")
    assert len(cluster_folder("a" * MAX_FOLDER_NAME)) == MAX_FOLDER_NAME
    with pytest.raises(UsageError, match="too long"):
        cluster_folder("/" * 86)  # 258 bytes once encoded


def test_inside_follows_links_that_stay_inside_and_refuses_the_others(tmp_path):
    root = (tmp_path / "out").resolve()
    (root / "real").mkdir(parents=True)
    (root / "alias").symlink_to(root / "real")
    (root / "away").symlink_to(tmp_path)
    assert inside(root, Path("alias", "x.yaml")) == root / "real" / "x.yaml"
    assert inside(root, Path("new", "x.yaml")) == root / "new" / "x.yaml"
    for escaping in (Path("away", "x.yaml"), Path("..", "x.yaml"), Path("/etc/x.yaml")):
        with pytest.raises(UsageError, match="leads outside"):
            inside(root, escaping)


def test_write_atomically_replaces_a_link_instead_of_following_it(tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text("theirs\n")
    root = tmp_path / "out"
    root.mkdir()
    (root / "x.yaml").symlink_to(outside)
    write_atomically(root / "x.yaml", "mine\n")
    assert outside.read_text() == "theirs\n"
    assert not (root / "x.yaml").is_symlink() and (root / "x.yaml").read_text() == "mine\n"
    assert oct((root / "x.yaml").stat().st_mode & 0o777) == "0o644"
    assert os.listdir(root) == ["x.yaml"]  # no temporary file left
