"""Dynamic int8 quantization of an encoder network (the ``torch-int8`` path, ``fast=True``)."""
from __future__ import annotations


def quantize_dynamic_int8(net):
    """A copy of ``net`` with LoRA merged and the encoder's Linear layers in dynamic int8.

    Per-channel weight scales; the heads (and any layer outside ``net.encoder``) stay in
    float32, so the decision layer sees unquantized weights.
    """
    import copy
    import warnings

    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    net = copy.deepcopy(net)
    if hasattr(net.encoder, "merge_and_unload"):
        net.encoder = net.encoder.merge_and_unload()
    net.eval()
    spec = {name: per_channel_dynamic_qconfig for name, m in net.encoder.named_modules()
            if isinstance(m, torch.nn.Linear) and "pooler" not in name}
    with warnings.catch_warnings():  # torch announces the eager quantization API's move to torchao
        warnings.simplefilter("ignore")
        net.encoder = quantize_dynamic(net.encoder, spec, dtype=torch.qint8)
    return net
