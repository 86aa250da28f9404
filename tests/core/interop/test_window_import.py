"""Swin and MaxViT blocks built from torchvision's own classes at tiny sizes (the whole
models take a minute each: bench/bench_torchvision_import.py checks those): each imports
to catalogue nodes that compute the block's output after a JSON round trip, and exports to
Python with the same output."""
from functools import partial

import pytest
import torch
from torch import nn
from torchvision.models.maxvit import PartitionAttentionLayer
from torchvision.models.swin_transformer import (PatchMerging, PatchMergingV2, SwinTransformerBlock,
                                                 SwinTransformerBlockV2)

from pytorchgui.core.interop.export import python_source
from tests.core.interop.test_fx_mapping import imported_exactly, types


def randomised(model: nn.Module) -> nn.Module:
    """Every weight drawn at random: V2's zeroed key bias, or a zero table, would hide a wrong gather."""
    torch.manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.2)
    return model


def exported_agrees(imported, model: nn.Module, shape: list[int]) -> None:
    namespace = {}
    exec(compile(python_source(imported.network), "exported", "exec"), namespace)  # noqa: S102 - our own code
    exported = namespace["Network"]().eval()
    from pytorchgui.core.interop.importers import convert_weights
    exported.load_state_dict(convert_weights(imported, model.state_dict()))
    x = torch.randn(3, *shape)
    with torch.no_grad():
        torch.testing.assert_close(exported(x), model(x), rtol=1e-5, atol=1e-5)


class SwinStage(nn.Module):
    """Two Swin blocks, the second shifted, then patch merging: a map [H, W, C] channels last
    whose size (5 x 6) is no multiple of the window, so padding and cropping are exercised."""

    def __init__(self, block, merging):
        super().__init__()
        norm = partial(nn.LayerNorm, eps=1e-5)
        self.blocks = nn.Sequential(block(8, 2, [2, 4], [0, 0], norm_layer=norm),
                                    block(8, 2, [2, 4], [1, 2], norm_layer=norm))
        self.merge = merging(8, norm_layer=norm)

    def forward(self, x):
        return self.merge(self.blocks(x))


@pytest.mark.parametrize("block, merging", [(SwinTransformerBlock, PatchMerging),
                                            (SwinTransformerBlockV2, PatchMergingV2)], ids=["v1", "v2"])
def test_swin_blocks_import_with_their_window_attention_and_patch_merging(block, merging):
    model = randomised(SwinStage(block, merging)).eval()
    imported = imported_exactly(model, [5, 6, 8])
    attention = imported.network.node("blocks.1.attn")
    assert attention.type == "ShiftedWindowAttention"
    assert attention.parameters["shift_size"] == [1, 2] and attention.parameters["v2"] is (block is not SwinTransformerBlock)
    assert types(imported).count("SpaceToChannels") == 1
    exported_agrees(imported, model, [5, 6, 8])


@pytest.mark.parametrize("partition", ["window", "grid"])
def test_a_maxvit_attention_layer_imports_with_its_relative_position_bias(partition):
    model = randomised(PartitionAttentionLayer(8, 4, 2, partition, (4, 4), 2, nn.GELU, nn.LayerNorm, 0.0, 0.0,
                                               0.0)).eval()
    imported = imported_exactly(model, [8, 4, 4])
    bias = [node for node in imported.network.nodes.values() if node.type == "RelativePositionBias"]
    assert len(bias) == 1 and bias[0].parameters == {"window_size": [2, 2], "num_heads": 2}
    exported_agrees(imported, model, [8, 4, 4])
