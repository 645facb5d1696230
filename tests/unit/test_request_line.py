"""The request line tctl sends: paths and queries percent-encoded as `urllib.parse.quote` encodes
them (a label selector's `/` and `=` inside a query value included)."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from tctl_py.fleet.transport import Transport

TEXT = st.text(st.sampled_from("aZ09-._~/:@!$&'()*+,;=%?#[] é\u2603"), max_size=16)


def request_line(path: str, query: list[tuple[str, str]]) -> str:
    head = Transport("https://example.test:6443/base")._head("GET", path, query, None, None)
    return head.decode("latin-1").split("\r\n", 1)[0]


@given(path=TEXT, query=st.lists(st.tuples(TEXT, TEXT), max_size=3))
def test_paths_and_queries_are_encoded_as_quote_encodes_them(path, query):
    expected = quote("/base" + path, safe="/:@!$&'()*+,;=-._~")
    if query:
        expected += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
    assert request_line(path, query) == f"GET {expected} HTTP/1.1"


def test_a_kubernetes_path_is_sent_as_it_is():
    line = request_line(
        "/apis/networking.istio.io/v1/namespaces/xcp-multicluster/serviceentries/details",
        [("fieldManager", "tctl"), ("labelSelector", "app.kubernetes.io/managed-by=tctl")],
    )
    assert line == (
        "GET /base/apis/networking.istio.io/v1/namespaces/xcp-multicluster/serviceentries/details"
        "?fieldManager=tctl&labelSelector=app.kubernetes.io%2Fmanaged-by%3Dtctl HTTP/1.1"
    )
