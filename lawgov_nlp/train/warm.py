"""Retraining a model on new annotations: ``lawgov train CONFIG --from MODEL --add FILE`` /
:func:`retrain` (what the Label Studio backend calls after new annotations).

How each kind starts:

* ``encoder``: the network is built with the model's own settings (base, lengths, LoRA) and starts
  from its LoRA adapters and heads; the config gives the data, epochs and learning rates.
* ``context``: stage 1 (the sentence encoder) starts from the model's LoRA adapters (its stage-1
  heads are not part of a context model and start fresh), stage 2 from each of its context
  layers; with ``encoder="keep"`` the model's encoder is kept as it is and only the context
  layers train (much faster). Leave-one-document-out evaluation of ``loro_train`` files is not
  measured: the model that starts the run has seen those documents.
* ``tfidf``: refitted on the merged data with the model's options (a linear model on fixed
  features has nothing worth carrying over).

New annotations come as files (JSONL, Label Studio JSON export, doccano JSONL, CSV: anything
:func:`lawgov_nlp.data.formats.read_any` reads; in a Label Studio export only tasks a person
annotated count) or as record dicts. They are validated against the model's label scheme and
merged into the config's training data: a sentence already there (same ``sent_id``, or the same
text in the same section of the same document) takes the new labels, a new sentence of a
training document joins it in ``sent_id`` order, a new document is appended. Annotations of a
document in dev, an ``eval`` file or a ``loro_train`` file are refused: the splits stay by
document. The merged training file is written beside the new model (``.<name>.data/``), and the
new model's manifest and card record what it was trained from (``trained_from``: the source
model, its fingerprint and version, the added files with their checksums and counts).

Warm runs always start over (no checkpoint of an earlier run is resumed: the data differ).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import ConfigError, CorpusError, ModelError

DATA_SUFFIX = "data"
ENCODER_MODES = ("train", "keep")
#: the encoder settings a warm start takes from the model (the network must have the model's shape)
ARCHITECTURE_KEYS = ("base", "max_length", "use_section", "section_max_tokens", "pooling", "dropout", "lora",
                     "encoder_layers")


def retrain(from_model: str | os.PathLike, new_records: Sequence[Any] = (), output_dir: str | os.PathLike | None = None,
            *, config: Any = None, log: Callable[[str], None] = print, progress: bool = False,
            encoder: str = "train", overrides: dict | None = None, held_out: str = "refuse") -> Path:
    """Train a new model directory warm-started from ``from_model`` on its training data plus
    ``new_records`` (annotated files and/or record dicts); returns the new directory.

    ``config``: a training config (YAML path, dict or config object) giving the data files and
    training settings; by default the one the model was trained with (``metrics.json``).
    ``output_dir``: where the new model goes (default: the config's ``output_dir``); never the
    source directory. ``encoder``: for context models, ``train`` (stage 1 warm-started, the
    default) or ``keep`` (the model's encoder as it is). ``overrides``: config keys to change
    (``{"epochs": 2}``). ``held_out``: ``refuse`` (the default) raises a :class:`CorpusError` naming
    the file and the documents when new annotations belong to dev, eval or loro_train documents;
    ``skip`` leaves them out, says so in the log and records how many (a server annotating
    continuously uses it, so that one such annotation does not stop every later retraining).
    """
    from ..models.contract import read_manifest

    src = Path(from_model)
    man, scheme = read_manifest(src)
    if man.kind not in ("encoder", "context", "tfidf"):
        raise ModelError(f"{src}: a {man.kind} model is not trained; warm starts take encoder, context or tfidf models")
    if encoder not in ENCODER_MODES:
        raise ConfigError(f"encoder must be one of {', '.join(ENCODER_MODES)}, got {encoder!r}")
    cfg = _config(config, src, man.kind, overrides)
    _check_scheme(cfg, scheme, src)
    out = Path(output_dir) if output_dir is not None else Path(cfg.output_dir)
    if out.exists() and src.exists() and os.path.samefile(out, src):
        raise ConfigError(f"{out}: the output directory is the model being warm-started; choose another one "
                          "(e.g. models/v2)")

    if held_out not in ("refuse", "skip"):
        raise ConfigError(f"held_out must be refuse or skip, got {held_out!r}")
    added, files = _read_new(new_records, scheme)
    added, n_held = _refuse_held_out(cfg, scheme, added, skip=held_out == "skip", log=log)
    from ..data.corpus import load_records, write_jsonl

    base_records = load_records(cfg.train, scheme)
    merged, stats = merge_records(base_records, added)
    data_dir = out.parent / f".{out.name}.{DATA_SUFFIX}"
    data_dir.mkdir(parents=True, exist_ok=True)
    merged_path = data_dir / "train.jsonl"
    write_jsonl(merged, merged_path)
    if added:
        write_jsonl(added, data_dir / "added.jsonl")
    log(f"data: {len(base_records)} training sentences from {cfg.train}, {len(added)} new annotations "
        f"({stats['replaced']} relabel sentences already there, {stats['added']} are new; "
        f"{stats['new_documents']} new documents) -> {len(merged)} in {merged_path}")

    base_train = str(cfg.train)
    cfg = _warm_config(cfg, man, src, out, merged_path, encoder, log)
    if man.kind == "tfidf":
        from .tfidf import train_from_config

        train_from_config(cfg, log=log)
    elif man.kind == "encoder":
        from .loop import train

        train(cfg, resume=False, log=log, progress=progress)
    else:
        from .context import train_context

        train_context(cfg, resume=False, log=log, progress=progress)
    info = {"warm_start": {"model": str(src.resolve()), "kind": man.kind, "fingerprint": model_fingerprint(src),
                           "lawgov_nlp": (man.versions or {}).get("lawgov_nlp"),
                           "how": _how(man.kind, encoder)},
            "training_data": {"base": base_train, "base_sentences": len(base_records), "merged": str(merged_path),
                              "sentences": len(merged)},
            "added": files, "added_sentences": len(added), "held_out_left_out": n_held, "relabelled": stats["replaced"],
            "new_sentences": stats["added"], "new_documents": stats["new_documents"]}
    record_provenance(out, info)
    log(f"trained from {src} ({info['warm_start']['fingerprint']}); provenance in {out / 'lawgov_model.json'}")
    return out


# --------------------------------------------------------------------------- config
def _config(config: Any, src: Path, kind: str, overrides: dict | None):
    from .config import CONFIG_CLASSES, load_config
    from ..models.settings import build_dataclass

    if config is None:
        from ..models.contract import read_metrics

        data = read_metrics(src).get("config")
        if not isinstance(data, dict):
            raise ConfigError(f"{src}: the model does not record the config it was trained with (metrics.json); "
                              "pass a training config (lawgov train CONFIG --from MODEL)")
        where = f"{src / 'metrics.json'}: config"
        data = dict(data)
    elif isinstance(config, (str, os.PathLike)):
        cfg = load_config(config, overrides)
        return _check_kind(cfg, kind, str(config))
    elif isinstance(config, dict):
        data, where = dict(config), "<config>"
    else:
        data, where = config.to_dict(), "<config>"
    data.update(overrides or {})
    data.setdefault("kind", kind)
    cls = CONFIG_CLASSES.get(data["kind"])
    if cls is None:
        raise ConfigError(f"{where}: unknown kind {data['kind']!r}")
    return _check_kind(build_dataclass(cls, data, where), kind, where)


def _check_kind(cfg, kind: str, where: str):
    if cfg.kind != kind:
        raise ConfigError(f"{where}: a {cfg.kind} config cannot warm-start a {kind} model")
    for name, path in [("train", cfg.train), ("dev", cfg.dev), *((f"eval.{k}", v) for k, v in (cfg.eval or {}).items()),
                       *((f"loro_train.{k}", v) for k, v in (getattr(cfg, "loro_train", None) or {}).items())]:
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"{where}: {name} file {path} does not exist (relative paths are relative to the "
                              f"current directory {os.getcwd()}); pass a config whose files exist")
    return cfg


def _check_scheme(cfg, scheme, src: Path) -> None:
    from ..errors import SchemeError
    from ..scheme import load_scheme

    try:
        mine = load_scheme(cfg.scheme)
    except SchemeError as e:
        raise ConfigError(f"scheme {cfg.scheme!r} of the config: {e}") from e
    for what in ("dimension_codes", "role_codes"):
        a, b = getattr(mine, what), getattr(scheme, what)
        if list(a) != list(b):
            raise ConfigError(f"the config's label scheme ({cfg.scheme}) differs from the model's ({src / 'scheme.yaml'}): "
                              f"{what.split('_')[0]}s {', '.join(a)} vs {', '.join(b)}; a warm start keeps the model's "
                              "labels")


def _warm_config(cfg, man, src: Path, out: Path, merged: Path, encoder: str, log):
    """The config of the warm run: the merged data, the new output, the model's network settings."""
    from .config import CONFIG_CLASSES
    from ..models.settings import build_dataclass

    d = cfg.to_dict()
    # a dev or eval file that is the training file itself (a smoke test) stays the training data
    if d.get("dev") and _same(d["dev"], cfg.train):
        d["dev"] = str(merged)
    d["eval"] = {k: (str(merged) if _same(v, cfg.train) else v) for k, v in (d.get("eval") or {}).items()}
    d.update(train=str(merged), output_dir=str(out))
    mc = man.config or {}
    if man.kind == "tfidf":
        d["params"] = dict(mc.get("params") or d.get("params") or {})
    elif man.kind == "encoder":
        _take_architecture(d, mc, log)
        d["init_from"] = str(src)
    else:
        enc = dict(d.get("encoder") or {})
        _take_architecture(enc, mc.get("encoder") or {}, log, "encoder.")
        enc.pop("use_section", None)
        d["encoder"] = enc
        d["context"] = dict(mc.get("context") or d["context"])
        if mc.get("tfidf"):
            d["tfidf"] = dict(mc["tfidf"].get("params") or {})
        d["init_from"] = str(src)
        d["encoder_dir"] = str(out.parent / f".{out.name}.encoder")
        d["encoder_from"] = None
        if encoder == "keep":
            d["encoder_from"] = _keep_encoder(src, out, log)
    return build_dataclass(CONFIG_CLASSES[d["kind"]], d, "warm-start config")


def _take_architecture(d: dict, model_cfg: dict, log, prefix: str = "") -> None:
    for k in ARCHITECTURE_KEYS:
        if k not in model_cfg:
            continue
        want = model_cfg[k]
        have = d.get(k)
        if k in d and json.dumps(have, sort_keys=True, default=str) != json.dumps(want, sort_keys=True, default=str):
            log(f"note: {prefix}{k} is the model's ({want!r}), not the config's ({have!r}): the network starts "
                "from the model's weights")
        d[k] = want
    if model_cfg.get("save_full") or model_cfg.get("lora", 1) is None:
        d["save_full"] = bool(model_cfg.get("save_full"))


def _keep_encoder(src: Path, out: Path, log) -> str:
    """The context model's encoder written as an encoder model directory (stage 1 skipped)."""
    from ..models.encoder import EncoderTagger
    from ..models.registry import load

    ctx = load(src, exact=True)
    enc_dir = out.parent / f".{out.name}.encoder-kept"
    EncoderTagger(ctx.net, ctx.tokenizer, ctx.settings, ctx.scheme, trained_from={"context_model": str(src)}).save(enc_dir)
    log(f"stage 1: the encoder of {src} kept as it is ({enc_dir})")
    return str(enc_dir)


def _how(kind: str, encoder: str) -> str:
    if kind == "tfidf":
        return "refitted on the merged data with the model's options"
    if kind == "encoder":
        return "LoRA adapters and heads from the model"
    if encoder == "keep":
        return "the model's encoder kept; context layers from the model"
    return "stage-1 encoder from the model's LoRA adapters (fresh stage-1 heads); context layers from the model"


# --------------------------------------------------------------------------- new annotations
def _read_new(items: Sequence[Any], scheme) -> tuple[list[dict], list[dict]]:
    """(records, one summary per source) of the new annotations, validated against the scheme."""
    from ..data.corpus import validate_records

    if isinstance(items, (str, os.PathLike, dict)):
        items = [items]
    records: list[dict] = []
    files: list[dict] = []
    loose = [x for x in items if isinstance(x, dict)]
    for item in items:
        if isinstance(item, dict):
            continue
        if not isinstance(item, (str, os.PathLike)):
            raise ConfigError(f"new annotations must be files or record dicts, got {type(item).__name__}")
        recs, skipped = read_annotations(item, scheme)
        for r in recs:
            r["_source"] = str(item)
        records += recs
        files.append({"file": str(Path(item).resolve()), "sha256": _sha256(Path(item)), "sentences": len(recs),
                      "documents": len({str(r["doc_id"]) for r in recs}), "skipped_unannotated": skipped})
    if loose:
        problems = validate_records(loose, scheme)
        if problems:
            raise CorpusError("<annotation records>", problems, "the new annotations")
        for i, r in enumerate(loose, 1):
            r.setdefault("_line", i)
            r["_source"] = "<annotation records>"
        records += [dict(r) for r in loose]
        files.append({"file": "<annotation records>", "sentences": len(loose),
                      "documents": len({str(r["doc_id"]) for r in loose})})
    return records, files


def read_annotations(path: str | os.PathLike, scheme) -> tuple[list[dict], int]:
    """Annotated records of one file of any format, validated as gold data; (records, unannotated
    Label Studio tasks left out). Problems are one :class:`CorpusError` naming the file."""
    from ..data.corpus import Problem, validate_records
    from ..data.formats import guess_format, read_any, read_label_studio

    p = Path(path)
    if not p.is_file():
        raise CorpusError(str(p), [Problem(0, "file", "no such file")], "the new annotations")
    fmt = guess_format(p)
    skipped = 0
    try:
        if fmt == "labelstudio":
            recs = read_label_studio(p, use_predictions=False)
            kept = [r for r in recs if r.get("_annotated")]
            skipped = len(recs) - len(kept)
            recs = kept
        else:
            recs = read_any(p, fmt)
            if fmt == "jsonl" and recs and "dimension" not in recs[0] and ("label" in recs[0] or "labels" in recs[0]):
                recs = read_any(p, "doccano")  # doccano JSONL: labels such as dimension:functions
    except (OSError, UnicodeDecodeError) as e:
        raise CorpusError(str(p), [Problem(0, "file", f"cannot read it ({e})")], "the new annotations") from e
    if not recs:
        raise CorpusError(str(p), [Problem(0, "file", "no annotated sentences" +
                                           (f" ({skipped} tasks without an annotation)" if skipped else ""))],
                          "the new annotations")
    problems = validate_records(recs, scheme)
    if problems:
        raise CorpusError(str(p), problems, "the new annotations")
    return recs, skipped


def held_out_documents(cfg, scheme=None) -> dict[str, str]:
    """Documents of a config's dev, eval and loro_train files: doc_id -> ``split (file)``
    (a file that is the training file itself, a smoke test, holds nothing out)."""
    from ..data.corpus import load_records

    held: dict[str, str] = {}
    named = [("dev", cfg.dev), *((k, v) for k, v in (cfg.eval or {}).items()),
             *((f"loro_train.{k}", v) for k, v in (getattr(cfg, "loro_train", None) or {}).items())]
    for name, path in named:
        if path is None or _same(path, cfg.train):
            continue
        for r in load_records(path, scheme):
            held.setdefault(str(r["doc_id"]), f"{name} ({path})")
    return held


def _refuse_held_out(cfg, scheme, added: list[dict], *, skip: bool = False, log=print) -> tuple[list[dict], int]:
    """Annotations of documents in dev, eval or loro_train files are refused (naming file and
    documents), or with ``skip`` left out; returns (the annotations kept, how many were left out)."""
    from ..data.corpus import Problem

    held = held_out_documents(cfg, scheme)
    if skip:
        kept = [r for r in added if str(r["doc_id"]) not in held]
        if len(kept) < len(added):
            docs = sorted({str(r["doc_id"]) for r in added if str(r["doc_id"]) in held})
            log(f"warning: {len(added) - len(kept)} new annotations of documents held out for evaluation left out "
                f"({', '.join(docs[:10])}{' …' if len(docs) > 10 else ''})")
        return kept, len(added) - len(kept)
    by_source: dict[str, list[Problem]] = {}
    seen: set[tuple[str, str]] = set()
    for r in added:
        doc = str(r["doc_id"])
        if doc in held and (r["_source"], doc) not in seen:
            seen.add((r["_source"], doc))
            by_source.setdefault(r["_source"], []).append(
                Problem(int(r.get("_line") or 0), "doc_id", f"document {doc!r} is in {held[doc]}: annotations of "
                        "documents held out for evaluation are refused (they would make its scores measure memory); "
                        "annotate other documents, or move the document out of that split first", r.get("_task")))
    if by_source:
        docs = sorted({doc for _, doc in seen})
        raise CorpusError(", ".join(by_source), [p for ps in by_source.values() for p in ps],
                          f"the new annotations (documents held out: {', '.join(docs)})")
    return added, 0


def _same(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, TypeError):
        return False


def merge_records(base: Sequence[dict], added: Sequence[dict]) -> tuple[list[dict], dict]:
    """The training records with the new annotations merged in (see the module docstring);
    returns (records, counts: replaced, added, new_documents). Later annotations of one sentence win."""
    from ..data.corpus import _text_key

    # the last annotation of a sentence wins (an updated annotation comes after the first)
    latest: dict[Any, dict] = {}
    for r in added:
        latest[("sid", str(r["sent_id"]))] = r
    uniq = list({id(r): r for r in latest.values()}.values())
    by_text = {}
    for r in uniq:
        by_text[_text_key(r)] = r
    uniq = [r for r in uniq if by_text.get(_text_key(r)) is r]
    out = [dict(r) for r in base]
    index_sid = {str(r["sent_id"]): i for i, r in enumerate(out)}
    index_text = {_text_key(r): i for i, r in enumerate(out)}
    replaced = 0
    fresh: list[dict] = []
    for r in uniq:
        i = index_sid.get(str(r["sent_id"]))
        if i is None:
            i = index_text.get(_text_key(r))
        clean = {k: v for k, v in r.items() if not k.startswith("_")}
        if i is not None:
            keep_sid = out[i]["sent_id"]
            out[i] = {**out[i], **clean, "sent_id": keep_sid}
            replaced += 1
        else:
            fresh.append(clean)
    base_docs = {str(r["doc_id"]) for r in out}
    new_docs = []
    for r in fresh:  # a new sentence of a training document joins it in sent_id order
        doc = str(r["doc_id"])
        if doc in base_docs:
            pos = [i for i, x in enumerate(out) if str(x["doc_id"]) == doc]
            after = [i for i in pos if str(out[i]["sent_id"]) < str(r["sent_id"])]
            at = (after[-1] + 1) if after else pos[0]
            out.insert(at, r)
        else:
            new_docs.append(r)
    out += new_docs
    return out, {"replaced": replaced, "added": len(fresh), "new_documents": len({str(r["doc_id"]) for r in new_docs})}


# --------------------------------------------------------------------------- provenance
def model_fingerprint(model_dir: str | os.PathLike) -> str:
    """A short digest of a model directory's manifest (which holds every weights file's SHA-256)."""
    p = Path(model_dir) / "lawgov_model.json"
    return hashlib.sha256(p.read_bytes()).hexdigest()[:16] if p.is_file() else ""


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def record_provenance(model_dir: str | os.PathLike, info: dict) -> None:
    """Add ``info`` to a model directory's ``trained_from`` (manifest) and write its card again."""
    from ..models.card import model_card
    from ..models.contract import MANIFEST_NAME, CARD_NAME, read_manifest, read_metrics
    from ..output import atomic_write

    d = Path(model_dir)
    man, _ = read_manifest(d)
    man.trained_from = {**(man.trained_from or {}), **info}
    with atomic_write(d / MANIFEST_NAME) as fh:
        fh.write(man.to_json())
    with atomic_write(d / CARD_NAME) as fh:
        fh.write(model_card(man, read_metrics(d), name=d.name))


__all__ = ["retrain", "held_out_documents", "merge_records", "read_annotations", "record_provenance", "model_fingerprint"]
