"""The optimizer a network trains with: Muon's two groups, settings, and its state across a resume."""
import torch

from pytorchgui.core.graph.compiler import compile_network
from pytorchgui.core.graph.network import Network
from pytorchgui.core.training.optimizers import apply_settings, describe_groups, hidden_matrices, make_optimizer


def muon_network():
    network = Network()
    layers = [("embed", "Embedding", {"num_embeddings": 12, "embedding_dim": 4}), ("flat", "Flatten", {}),
              ("hidden", "Linear", {"in_features": 32, "out_features": 16}),
              ("norm", "LayerNorm", {"normalized_shape": 16}), ("relu", "ReLU", {}),
              ("head", "Linear", {"in_features": 16, "out_features": 3}), ("soft", "LogSoftmax", {"dim": 1})]
    for index, (name, type_name, parameters) in enumerate(layers):
        network.add_node(type_name, name, parameters, first_layer=index == 0,
                         next_layers=[layers[index + 1][0]] if index + 1 < len(layers) else [])
    network.set_input([8], "int64")
    network.set_optimizer("Muon", {"lr": 0.02, "adamw_lr": 0.003})
    return network


def test_muon_steps_the_hidden_matrices_and_adamw_the_rest():
    network = muon_network()
    model = compile_network(network)
    assert hidden_matrices(network, model) == {id(model.hidden.weight)}  # not the embedding, nor the head
    optimizer = make_optimizer(network, model)
    muon, adamw = optimizer.param_groups
    assert (muon["algorithm"], muon["lr"], muon["params"]) == ("muon", 0.02, [model.hidden.weight])
    assert adamw["algorithm"] == "adamw" and adamw["lr"] == 0.003 and len(adamw["params"]) == 6
    assert describe_groups(optimizer) == "1 tensor (512 values) with Muon and 6 tensors (147 values) with AdamW"

    before = [p.detach().clone() for p in model.parameters()]
    x = torch.randint(0, 12, (5, 8))
    optimizer.zero_grad()
    model(x).sum().backward()
    optimizer.step()
    assert all(not torch.equal(b, p) for b, p in zip(before, model.parameters()))  # every tensor moved
    assert set(optimizer.state[model.hidden.weight]) == {"momentum_buffer"}
    assert {"exp_avg", "exp_avg_sq"} <= set(optimizer.state[model.head.weight])


def test_muon_settings_reach_their_own_group_and_survive_a_resume():
    network = muon_network()
    model = compile_network(network)
    optimizer = make_optimizer(network, model)
    apply_settings(optimizer, {"adamw_lr": 0.5})
    assert [group["lr"] for group in optimizer.param_groups] == [0.02, 0.5]
    apply_settings(optimizer, {"lr": 0.1, "weight_decay": 0.0})
    assert [group["lr"] for group in optimizer.param_groups] == [0.1, 0.5]
    assert [group["weight_decay"] for group in optimizer.param_groups] == [0.0, 0.01]

    x = torch.randint(0, 12, (5, 8))
    model(x).sum().backward()
    optimizer.step()
    saved = optimizer.state_dict()
    resumed = make_optimizer(network, model)
    resumed.load_state_dict(saved)
    assert [group["lr"] for group in resumed.param_groups] == [0.1, 0.5]
    assert torch.equal(resumed.state[model.hidden.weight]["momentum_buffer"],
                       optimizer.state[model.hidden.weight]["momentum_buffer"])
    # the parts step with the loaded groups and state, not the ones they were made with
    apply_settings(resumed, {"lr": 0.0, "adamw_lr": 0.0})
    before = [p.detach().clone() for p in model.parameters()]
    model(x).sum().backward()
    resumed.step()
    assert torch.equal(before[1], model.hidden.weight) and resumed.state[model.head.weight]["step"] == 2
