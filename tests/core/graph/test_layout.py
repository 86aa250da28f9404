"""The layout's geometry: collapsed groups close up the graph (tests/gui covers the canvas)."""
from pytorchgui.core.graph.layout import LAYER_GAP, close_up


def test_a_collapsed_group_takes_one_nodes_place_and_the_rest_closes_up():
    chain = {"stem": (0.0, 0.0)}
    chain.update({f"features.{i}": (0.0, (i + 1) * LAYER_GAP) for i in range(10)})
    chain["features.3.se"] = (230.0, 4 * LAYER_GAP)  # a side branch inside the stage
    chain["pool"], chain["fc"] = (0.0, 11 * LAYER_GAP), (0.0, 12 * LAYER_GAP)
    members = [name for name in chain if name.startswith("features.")]
    nodes, boxes = close_up(chain, {"features": members})
    assert boxes == {"features": (0.0, LAYER_GAP)}  # the stage's column, where its first node was
    assert nodes == {"stem": (0.0, 0.0), "pool": (0.0, 2 * LAYER_GAP), "fc": (0.0, 3 * LAYER_GAP)}
    assert close_up(chain, {}) == (chain, {})  # nothing collapsed: every node where it was


def test_groups_side_by_side_close_up_once_and_later_groups_follow():
    positions = {"a.0": (0.0, 0.0), "a.1": (0.0, 300.0), "b.0": (230.0, 100.0), "b.1": (230.0, 400.0),
                 "join": (100.0, 500.0), "c.0": (0.0, 600.0), "c.1": (0.0, 900.0), "out": (0.0, 1000.0)}
    nodes, boxes = close_up(positions, {"a": ["a.0", "a.1"], "b": ["b.0", "b.1"], "c": ["c.0", "c.1"]})
    # a and b overlap in height (0 to 400): they close up as one span, then c's 300
    assert boxes == {"a": (0.0, 0.0), "b": (230.0, 0.0), "c": (0.0, 200.0)}
    assert nodes == {"join": (100.0, 100.0), "out": (0.0, 300.0)}
