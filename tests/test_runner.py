"""assetpipe.runner: every node runs after the nodes it references; one that
never becomes ready is an error, not a silent early return."""
from __future__ import annotations

import pytest

from assetpipe.errors import BuildError
from assetpipe.jobs import Built
from assetpipe.runner import Runner


def cached(node: str) -> Built:
    return Built(logical_path=node, versioned_path=node, size=0, integrity="",
                 input_hash="", input_size=0)


def run(deps: dict[str, set[str]]) -> list[str]:
    order: list[str] = []
    done_in_order = order.append
    with Runner(None, "unused", "unused", workers=1,
                on_done=lambda b: done_in_order(b.logical_path)) as r:
        reused, done = r.run_graph(deps, cached, total_bytes=0)
    assert [b.logical_path for b in reused] == order and done == []
    return order


def test_every_node_runs_after_what_it_references():
    order = run({"a.css": {"b.css", "x.png"}, "b.css": {"x.png"}, "x.png": set(), "y.js": set()})
    assert sorted(order) == ["a.css", "b.css", "x.png", "y.js"]
    assert order.index("x.png") < order.index("b.css") < order.index("a.css")


def test_a_cycle_never_becomes_ready_and_is_named():
    with pytest.raises(BuildError, match=r"reference cycle: a\.css -> b\.css -> a\.css"):
        run({"a.css": {"b.css"}, "b.css": {"a.css"}, "c.css": {"a.css"}, "x.png": set()})


def test_a_reference_to_an_unknown_node_raises():
    with pytest.raises(BuildError, match=r"a\.css never became ready: it waits on gone\.png"):
        run({"a.css": {"gone.png"}, "x.png": set()})
