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


def test_only_rows_left_with_hidden_nodes_close_up_so_nodes_beside_a_group_keep_their_rows():
    positions = {"a.0": (0.0, 0.0), "a.1": (0.0, 300.0), "b.0": (230.0, 100.0), "b.1": (230.0, 400.0),
                 "join": (100.0, 500.0), "c.0": (0.0, 600.0), "c.1": (0.0, 900.0), "out": (0.0, 1000.0),
                 "beside": (460.0, 300.0)}
    nodes, boxes = close_up(positions, {"a": ["a.0", "a.1"], "b": ["b.0", "b.1"], "c": ["c.0", "c.1"]})
    # rows 400 (b.1) and 900 (c.1) hold only hidden nodes; row 300 keeps "beside"
    assert boxes == {"a": (0.0, 0.0), "b": (230.0, 100.0), "c": (0.0, 500.0)}
    assert nodes == {"join": (100.0, 400.0), "out": (0.0, 600.0), "beside": (460.0, 300.0)}


def test_a_group_entered_from_outside_takes_the_place_of_its_entry_not_of_a_learned_tensor_above_it():
    # vit_b_16's encoder: its position embedding (no input) sits in the first row, beside the stem
    positions = {"conv_proj": (0.0, 0.0), "encoder.pos_embedding": (230.0, 0.0), "encoder.reshape": (0.0, 96.0),
                 "encoder.add": (0.0, 192.0), "heads": (0.0, 288.0)}
    members = ["encoder.pos_embedding", "encoder.reshape", "encoder.add"]
    nodes, boxes = close_up(positions, {"encoder": members}, {"encoder": ["encoder.reshape"]})
    assert boxes == {"encoder": (0.0, 96.0)} and nodes == {"conv_proj": (0.0, 0.0), "heads": (0.0, 192.0)}
