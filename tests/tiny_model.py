"""A tiny BERT with a character tokenizer, built inside the tests (no downloads)."""
from __future__ import annotations

import json
from pathlib import Path


def build_tiny_base(out: Path, texts: list[str], seed: int = 0, layers: int = 2, hidden: int = 32) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    chars = sorted({c for t in texts for c in t if not c.isspace()})
    vocab = [(s, 0.0) for s in specials] + [(c, -1.0) for c in chars]
    tok = Tokenizer(models.Unigram(vocab, unk_id=3))
    tok.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   unk_token="<unk>", cls_token="<s>", sep_token="</s>", model_max_length=512)
    out.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(out))
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                     intermediate_size=hidden * 2, max_position_embeddings=256, pad_token_id=1)
    BertModel(cfg).save_pretrained(str(out))
    return out


def tiny_records(path: Path, n: int) -> list[dict]:
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return rows[:n]
