"""The trace viewer: one self-contained HTML page per run, checked in real headless Chromium."""

from __future__ import annotations

from fanout_strategy import Fanout
from ponder import Engine
from ponder.viewer import build_tree, count_nodes, render_html
from viewer_helpers import expected_nodes


def test_tree_of_thoughts_run_becomes_a_tree_of_thoughts(store, tree_run):
    events = store.events(tree_run)
    tree = build_tree(events)
    assert count_nodes(tree) == expected_nodes(events)
    [root_thought] = [c for c in tree["children"] if c["type"] == "thought"]
    assert root_thought["node"] == 0
    level1 = [c for c in root_thought["children"] if c["type"] == "thought"]
    assert [t["node"] for t in level1] == [1, 2]
    assert all(t["parent"] == 0 for t in level1)
    # the propose call for thought 0 hangs under it, the value call of thought 1 under thought 1
    assert [c["kind"] for c in root_thought["children"] if c["type"] == "call"] == ["propose"]
    assert "value" in [c["kind"] for c in level1[0]["children"] if c["type"] == "call"]


def test_child_runs_nest_and_batch_samples_are_siblings(store, echo_model):
    result = Engine(echo_model, sinks=[store.sink()]).run(Fanout(), "go")
    tree = build_tree(store.events(result.run_id))
    kinds = [c.get("kind") or c["type"] for c in tree["children"]]
    assert kinds == ["sample", "sample", "vote", "run"]
    child = tree["children"][3]
    assert child["question"] == "child: go" and child["stop_reason"]
    assert [c["kind"] for c in child["children"]][:3] == ["draft", "critique", "revision"]


def test_page_is_self_contained_and_escapes_the_run_text(store, tree_run):
    page = render_html(store.events(tree_run), store.run(tree_run))
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert page.count("</script>") == 2  # the data block and the script; the question's tag is escaped
    assert "{{" not in page
