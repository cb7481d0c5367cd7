#!/usr/bin/python3
"""Write a PyTorch MLP as a freezebench model archive, with what runs between its layers.

    import sys; sys.path.insert(0, "scripts")
    from export_mlp import save
    save(model, "model.npz")          # the state_dict, plus the architecture record

or from the shell, for a module saved with torch.save(model, "model.pt"):

    /usr/bin/python3 scripts/export_mlp.py model.pt model.npz

The archive holds every state_dict tensor under its own name (np.savez, as
`np.savez(path, **{k: v.numpy() ...})` would) and one more array,
`_freezebench_architecture`: the bytes (uint8) of the steps torch.fx's symbolic trace
finds in the forward, in order, separated by spaces: "linear:NAME" for an nn.Linear
(NAME its state_dict prefix), the lower-case kind of any other module ("relu:1",
"tanh:1", "layernorm:2") or function ("relu", "tanh", "add").  freezebench reads it and
refuses an archive whose forward is anything but its Linear layers with ReLU between
them, naming the step, instead of training another network than the user's.  A forward
torch.fx cannot trace (data-dependent control flow) is refused here, saying so; then
give freezebench the steps yourself with --architecture.
"""
import sys

import numpy as np
import torch

RECORD = "_freezebench_architecture"


def architecture(model):
    """The forward's steps, as freezebench's record spells them."""
    traced = torch.fx.symbolic_trace(model)
    modules = dict(traced.named_modules())
    steps = []
    for node in traced.graph.nodes:
        if node.op == "call_module":
            kind = type(modules[node.target]).__name__.lower()
            steps.append(f"{kind}:{node.target}")
        elif node.op in ("call_function", "call_method"):
            target = node.target
            steps.append(target if isinstance(target, str)
                         else getattr(target, "__name__", str(target)).lower())
    return " ".join(steps)


def save(model, path):
    """model's state_dict and its architecture record, to the .npz at path."""
    record = architecture(model)
    arrays = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    if RECORD in arrays:
        raise ValueError(f"the state_dict already has a tensor named {RECORD}")
    arrays[RECORD] = np.frombuffer(record.encode("ascii"), dtype=np.uint8)
    np.savez(path, **arrays)
    return record


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: export_mlp.py MODEL.pt OUT.npz", file=sys.stderr)
        return 2
    model = torch.load(argv[1])
    print(save(model, argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
