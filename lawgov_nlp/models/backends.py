"""How a neural model's encoder runs: precision and backend, chosen at load time.

    lg.load(model)                    # the default: the fastest path that passed the parity check
    lg.load(model, exact=True)        # the float32 reference (PyTorch, LoRA adapters unmerged)
    lg.load(model, backend="onnx")    # ONNX Runtime: fused graph, int8 per-channel weights
    lg.load(model, fast=True)         # PyTorch dynamic int8 (opt-in; changes a few % of labels)

Paths (``Tagger.path_name``):

``fp32``       the reference: PyTorch float32, LoRA unmerged. Used for training and saving.
``bf16``       the default precision where the CPU computes bfloat16 natively (AMX or AVX-512 BF16):
               LoRA merged into the weights, the encoder cast to bfloat16 once, pooling and both heads
               (and the context layer) in float32. On other CPUs the default precision is ``fp32``.
``torch-int8`` ``fast=True``: dynamic int8 quantization of the encoder's Linear layers.
``onnx-int8``  ``backend="onnx"``: the merged encoder with mean pooling exported to ONNX, fused by
               ONNX Runtime's transformer optimizer, and its MatMuls quantized to int8 with
               per-channel weights, except the nodes listed in :data:`ONNX_EXCLUDE` (the ones that
               broke parity); built once and cached (see :func:`onnx_encoder_file`).
``onnx-fp32``  ``backend="onnx", exact=True``: the same fused graph, unquantized.
``draft+…``    a ``context`` model whose directory holds a draft encoder (a distilled student,
               :mod:`lawgov_nlp.models.draft`) runs it first on every sentence, in the precision of
               the path after the ``+`` (``bf16``, ``fp32`` or ``torch-int8``), and the full encoder
               only on the sentences the draft leaves in doubt; ``draft=False`` turns it off. It is
               the default path of a model whose draft passed parity (the shipped model's does:
               ``draft+bf16``), otherwise ``draft=True`` asks for it.

The ``bf16`` path runs on oneDNN, which keeps a compiled kernel per input shape (1,024 by default).
Length-sorted batches have many shapes, so that cache grew the process by about 150 MB over 100
reports (``training/benchmarks/streaming.py``) for no speed; the ``bf16`` path caps it at
:data:`KERNEL_CACHE` kernels unless ``$ONEDNN_PRIMITIVE_CACHE_CAPACITY`` is already set.

``training/benchmarks/tag_speed.py`` measures all of them, and ``--parity`` their agreement with
the reference (see BENCHMARKS.md); ``tests/test_fast_path.py`` checks parity on small data.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

from ..errors import ModelError

BACKENDS = ("torch", "onnx")
PRECISION_ENV = "LAWGOV_PRECISION"
#: oneDNN's kernel cache: its size, unless the environment sets one (see the module docstring; on 100
#: reports, peak RSS 876 MB at 8 against 1,044 MB at 256 on the draft path, 742 against 874 MB on the
#: default path, at the same speed)
KERNEL_CACHE_ENV = "ONEDNN_PRIMITIVE_CACHE_CAPACITY"
KERNEL_CACHE = 8
#: bumped when the export or quantization recipe changes (invalidates cached ONNX files)
ONNX_RECIPE = 1
#: regular expressions over the fused graph's node names that stay float32 in ``onnx-int8``
ONNX_EXCLUDE: tuple[str, ...] = (r"layer\.\d+/output/dense/MatMul",)  # the FFN output projections:
# per-node trials on the sample reports (min cosine to float32 of any sentence vector): none 0.945,
# FFN output 0.975, attention 0.928, both 0.988 (and slower than float32)


def _cpuinfo(field: str) -> str | None:
    """The value of the first ``field`` line of /proc/cpuinfo (None where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith(field):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_flags() -> set[str]:
    return set((_cpuinfo("flags") or "").split())


def machine_description() -> str:
    """The CPU model, what it has for bfloat16 (which decides the default path's speed and, since the
    kernels round differently, its exact labels), and the logical CPUs; for benchmark records."""
    model = _cpuinfo("model name") or "?"
    flags = cpu_flags()
    bf16 = ("AMX" if "amx_bf16" in flags else "AVX-512 BF16, no AMX" if "avx512_bf16" in flags
            else "no native bfloat16")
    return f"{model} ({bf16}), {os.cpu_count()} logical CPUs"


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 matrix products natively (AMX-BF16 or AVX-512 BF16) and
    torch's oneDNN can use it; on other CPUs bfloat16 is emulated and slower than float32."""
    import torch

    flags = cpu_flags()
    if not ({"amx_bf16", "avx512_bf16"} & flags):
        return False
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - an unusual torch build
        return False


def choose_path(*, exact: bool = False, fast: bool = False, backend: str = "torch", where: str = "") -> str:
    """The path name for load options (see the module docstring); ``$LAWGOV_PRECISION=fp32`` makes
    the float32 reference the default."""
    at = f"{where}: " if where else ""
    if backend not in BACKENDS:
        raise ModelError(f"{at}unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if fast and exact:
        raise ModelError(f"{at}fast=True (int8) and exact=True (the float32 reference) exclude each other")
    if backend == "onnx":
        return "onnx-fp32" if exact else "onnx-int8"
    if exact:
        return "fp32"
    if fast:
        return "torch-int8"
    env = os.environ.get(PRECISION_ENV, "").strip().lower()
    if env in ("fp32", "exact"):
        return "fp32"
    if env and env not in ("bf16", "auto"):
        raise ModelError(f"{PRECISION_ENV}={env!r}: expected fp32, bf16 or auto")
    if env == "bf16" or native_bf16():
        return "bf16"
    return "fp32"


def merge_lora(net):
    """``net`` with LoRA adapters merged into the encoder's weights, in place."""
    if hasattr(net.encoder, "merge_and_unload"):
        net.encoder = net.encoder.merge_and_unload()
    return net


def prepare_network(net, path: str, *, model_dir: Path | None = None, threads: int | None = None):
    """The network to run for a path name (the reference network itself for ``fp32``)."""
    import torch

    if path == "fp32":
        return net
    if path == "torch-int8":
        from .quantize import quantize_dynamic_int8

        return quantize_dynamic_int8(net)
    if path == "bf16":
        # read by oneDNN when it builds its first kernel, so before this network first runs
        os.environ.setdefault(KERNEL_CACHE_ENV, str(KERNEL_CACHE))
        net = merge_lora(net)
        net.encoder.to(torch.bfloat16)
        net.eval()
        return net
    if path in ("onnx-int8", "onnx-fp32"):
        if model_dir is None:
            raise ModelError("the ONNX backend needs the model directory")
        f = onnx_encoder_file(net, model_dir, quantized=(path == "onnx-int8"))
        return OnnxNetwork(f, net, threads)
    raise ModelError(f"unknown path {path!r}")  # pragma: no cover


# --------------------------------------------------------------------------- ONNX Runtime
def _require_onnx():
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ModelError('the ONNX backend needs onnxruntime and onnx: pip install "lawgov-nlp[onnx]"') from None


def _fingerprint(model_dir: Path, quantized: bool) -> str:
    """What the cached file depends on: the encoder's settings and weights (the SHA-256 the manifest
    records, which loading has just checked; the file is hashed only when the manifest has none),
    the recipe and the ONNX Runtime version. Other manifest changes (a draft, thresholds, a
    recorded benchmark) keep the cached file."""
    import json

    import onnxruntime

    from .contract import MANIFEST_NAME

    h = hashlib.sha256()
    try:
        man = json.loads((model_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        man = {}
    cfg = man.get("config") or {}
    h.update(json.dumps(cfg.get("encoder", cfg), sort_keys=True, default=str).encode())
    sha = ((man.get("weights") or {}).get("weights.safetensors") or {}).get("sha256")
    if not sha and (model_dir / "weights.safetensors").is_file():
        with open(model_dir / "weights.safetensors", "rb") as fh:
            sha = hashlib.sha256(fh.read()).hexdigest()
    h.update(str(sha).encode())
    h.update(f"recipe{ONNX_RECIPE}:ort{onnxruntime.__version__}:q{int(quantized)}:{'|'.join(ONNX_EXCLUDE)}".encode())
    return h.hexdigest()[:16]


def onnx_cache_dirs(model_dir: Path) -> list[Path]:
    """Where an ONNX file is looked for and built: ``onnx/`` in the model directory when it is
    writable, else ``$LAWGOV_NLP_CACHE/onnx/`` (``~/.cache/lawgov_nlp/onnx``)."""
    from .base import default_cache_dir

    return [model_dir / "onnx", default_cache_dir() / "onnx"]


def onnx_encoder_file(net, model_dir: Path, *, quantized: bool = True) -> Path:
    """The ONNX file of ``net``'s encoder (mean-pooled vectors), built on first use and cached."""
    _require_onnx()
    model_dir = Path(model_dir)
    name = f"encoder-{'int8' if quantized else 'fp32'}-{_fingerprint(model_dir, quantized)}.onnx"
    dirs = onnx_cache_dirs(model_dir)
    for d in dirs:
        if (d / name).is_file():
            return d / name
    last: Exception | None = None
    for d in dirs:
        try:
            d.mkdir(parents=True, exist_ok=True)
            if not os.access(d, os.W_OK):
                continue
            return build_onnx(net, d / name, quantized=quantized)
        except OSError as e:
            last = e
    raise ModelError(f"{model_dir}: could not build the ONNX encoder in {', '.join(map(str, dirs))} ({last})")


def build_onnx(net, out: Path, *, quantized: bool = True) -> Path:
    """Export, fuse and (optionally) quantize; the final file appears atomically under ``out``."""
    import copy
    import tempfile
    import warnings

    import torch

    enc = copy.deepcopy(net.encoder)
    if hasattr(enc, "merge_and_unload"):
        enc = enc.merge_and_unload()
    enc = enc.float().eval()
    try:  # the fused Attention kernel is recognised in the eager attention graph
        enc.set_attn_implementation("eager")
    except (AttributeError, ValueError):  # pragma: no cover - older transformers
        enc.config._attn_implementation = "eager"
    from .network import pool

    pooling = getattr(net, "pooling", "mean")

    class Pooled(torch.nn.Module):  # the encoder with its pooling, as one graph
        def __init__(self):
            super().__init__()
            self.encoder = enc

        def forward(self, input_ids, attention_mask):
            h = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return pool(h, attention_mask, pooling)

    module = Pooled().eval()
    ids = torch.ones(2, 8, dtype=torch.long)
    mask = torch.ones(2, 8, dtype=torch.long)
    cfg = enc.config
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".onnx-build-") as tmp:
        raw, fused, final = Path(tmp) / "raw.onnx", Path(tmp) / "fused.onnx", Path(tmp) / "final.onnx"
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (ids, mask), str(raw), input_names=["input_ids", "attention_mask"],
                              output_names=["vectors"], opset_version=17, dynamo=False,
                              dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                            "attention_mask": {0: "batch", 1: "tokens"}, "vectors": {0: "batch"}})
        from onnxruntime.transformers import optimizer

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt = optimizer.optimize_model(str(raw), model_type="bert", num_heads=int(cfg.num_attention_heads),
                                           hidden_size=int(cfg.hidden_size))
        opt.save_model_to_file(str(fused))
        if quantized:
            import onnx
            from onnxruntime.quantization import QuantType, quantize_dynamic

            names = [n.name for n in onnx.load(str(fused)).graph.node]
            exclude = [n for n in names if any(re.search(p, n) for p in ONNX_EXCLUDE)]
            quantize_dynamic(str(fused), str(final), per_channel=True, weight_type=QuantType.QInt8,
                             nodes_to_exclude=exclude, extra_options={"DefaultTensorType": 1})
        else:
            fused.replace(final)
        os.replace(final, out)
    return out


class OnnxNetwork:
    """Stands in for the two-head network at inference: ``encode`` runs the ONNX session; the heads
    (float32, PyTorch) and ``hidden_size`` come from the reference network."""

    def __init__(self, onnx_file: Path, net, threads: int | None = None):
        import onnxruntime as ort

        self.file = Path(onnx_file)
        self.hidden_size = net.hidden_size
        self.dimension_head = net.dimension_head
        self.role_head = net.role_head
        self.pooling = getattr(net, "pooling", "mean")
        so = ort.SessionOptions()
        so.intra_op_num_threads = int(threads or min(8, os.cpu_count() or 1))
        so.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(self.file), so, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - a truncated or foreign cached file
            raise ModelError(f"{self.file}: not a usable ONNX file ({type(e).__name__}: {str(e)[:200]}); "
                             "delete it and it is rebuilt") from e

    def encode(self, input_ids, attention_mask, token_type_ids=None) -> Any:
        import torch

        out = self.session.run(None, {"input_ids": input_ids.numpy().astype("int64"),
                                      "attention_mask": attention_mask.numpy().astype("int64")})[0]
        return torch.from_numpy(out)

    def eval(self):
        return self


__all__ = ["BACKENDS", "choose_path", "machine_description", "native_bf16", "prepare_network", "onnx_encoder_file", "build_onnx",
           "OnnxNetwork", "ONNX_EXCLUDE"]
