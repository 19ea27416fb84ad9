"""Our magnitude baseline against torch-pruning's magnitude importance on the same MLP units
(issue 15 item 8; the SmolLM2 comparison is ``benchmarks/torch_pruning_peer.py``).

On a tiny random LLaMA (conftest ``tiny_llama``: hidden 64, 2 layers, grouped-query attention)
torch-pruning's group of MLP channel ``j`` is gate_proj's and up_proj's row ``j`` and down_proj's
column ``j``; with ``p=1``, ``group_reduction="mean"`` and no normalizer it scores the channel
``(|gate_j|_1 + |up_j|_1 + |down_j|_1) / 3``. Ours scores a block of neurons by the mean |w| over its
``3 * hidden`` weights per neuron, so ours = (mean of torch-pruning's channel scores over the block) /
hidden. torch-pruning's default normalizer divides a layer's channels by their mean: the order within
a layer stays the same.
"""

import sys
from pathlib import Path

import pytest
import torch
import torch_pruning as tp  # a pinned test dependency (requirements/base.txt): never skipped

from methods.pruning import decoder_units as D
from methods.pruning import units as U

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import torch_pruning_peer as peer  # noqa: E402

BLOCK = 16


@pytest.fixture()
def scored(tiny_llama):
    layout = U.unit_layout(tiny_llama, D.LLAMA, block=BLOCK)
    _, groups = peer.mlp_groups(tiny_llama, torch.randint(0, 96, (1, 8), generator=torch.Generator().manual_seed(0)))
    ours = layout.split(U.weight_scores(tiny_llama, layout, D.LLAMA))[1].flatten()
    return layout, groups, ours


def test_our_magnitude_equals_torch_pruning_group_l1_over_hidden(scored, tiny_llama):
    layout, groups, ours = scored
    theirs = peer.peer_block_scores(groups, tp.importance.MagnitudeImportance(p=1, group_reduction="mean",
                                                                              normalizer=None), BLOCK)
    assert theirs.shape == ours.shape == (layout.layers * layout.blocks,)
    torch.testing.assert_close(ours, theirs / tiny_llama.config.hidden_size, rtol=1e-5, atol=0)


def test_torch_pruning_default_normalizer_keeps_the_order_within_each_layer(scored):
    layout, groups, ours = scored
    theirs = peer.peer_block_scores(groups, tp.importance.MagnitudeImportance(p=1, group_reduction="mean"), BLOCK)
    per_layer = lambda x: x.reshape(layout.layers, layout.blocks).argsort(1)  # noqa: E731
    assert torch.equal(per_layer(ours), per_layer(theirs))


def test_same_scores_select_the_same_blocks_with_attention_held(scored):
    layout, groups, ours = scored
    keep = peer.select_mlp(ours, layout, 0.5)
    heads, blocks = layout.split(keep)
    assert heads.all() and int(blocks.sum()) == layout.layers * layout.blocks // 2
    assert torch.equal(keep, peer.select_mlp(ours * 3.0, layout, 0.5))
