"""The document-context network: sentence vectors of one document in, per-sentence logits out.

    vectors [B, T, H] + structure features [B, T, F] (+ TF-IDF probabilities [B, T, D + R])
      → input projection → context layer (BiGRU, or self-attention over windows, or none)
      → dimension head: own-vector logits + gate × context logits (the gate starts nearly
        closed, so a sentence's own content leads its dimension)
      → role head: on [own vector; context] (neighbours matter most here)

Importing this module imports torch: import it only when a model is used.
"""
from __future__ import annotations

import torch
from torch import nn

from .network import init_linear, seeded_generator
from .settings import ContextSettings


class ContextNetwork(nn.Module):
    def __init__(self, d_in: int, n_features: int, n_dimensions: int, n_roles: int, settings: ContextSettings,
                 *, seed: int = 0):
        super().__init__()
        self.settings = settings
        s = settings
        self.n_dimensions, self.n_roles = n_dimensions, n_roles
        self.d_in = d_in
        self.norm = nn.LayerNorm(d_in)
        self.input_dropout = nn.Dropout(s.input_dropout)
        self.dropout = nn.Dropout(s.dropout)
        n_stack = (n_dimensions + n_roles) if s.stack_tfidf else 0
        self.n_stack = n_stack
        ctx = s.hidden if s.layer != "none" else 0
        self.ctx_size = ctx
        if s.layer == "gru":
            self.project = nn.Linear(d_in + n_features + n_stack, s.hidden)
            self.context = nn.GRU(s.hidden, s.hidden // 2, num_layers=s.layers, batch_first=True, bidirectional=True,
                                  dropout=s.dropout if s.layers > 1 else 0.0)
        elif s.layer == "transformer":
            self.project = nn.Linear(d_in + n_features + n_stack, s.hidden)
            self.position = nn.Embedding(s.window, s.hidden)
            layer = nn.TransformerEncoderLayer(s.hidden, s.heads, dim_feedforward=2 * s.hidden, dropout=s.dropout,
                                               batch_first=True)
            self.context = nn.TransformerEncoder(layer, s.layers, enable_nested_tensor=False)
        self.dim_own = nn.Linear(d_in + n_stack, n_dimensions)
        if ctx:
            self.dim_ctx = nn.Linear(ctx, n_dimensions)
            self.dim_gate = nn.Linear(d_in + ctx, 1)
        self.role_head = nn.Sequential(nn.Linear(d_in + ctx + n_stack, s.hidden), nn.GELU(), nn.Dropout(s.dropout),
                                       nn.Linear(s.hidden, n_roles))
        g = seeded_generator(seed)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                init_linear(m, g)
        if ctx:
            with torch.no_grad():
                self.dim_gate.bias.fill_(s.dimension_gate_bias)

    def _context(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        s = self.settings
        if s.layer == "gru":
            lengths = mask.sum(1).clamp(min=1).cpu()
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            out, _ = self.context(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
            return out
        # transformer: windows of s.window sentences with s.overlap, the centre of each window kept
        B, T, H = x.shape
        out = torch.zeros_like(x)
        w, ov = s.window, s.overlap
        step = max(1, w - ov)
        starts = list(range(0, max(1, T - ov), step)) if T > w else [0]
        filled = torch.zeros(B, T, dtype=torch.bool, device=x.device)
        for k, a in enumerate(starts):
            b = min(T, a + w)
            seg = x[:, a:b] + self.position(torch.arange(b - a, device=x.device))[None]
            pad = ~mask[:, a:b]
            y = self.context(seg, src_key_padding_mask=pad)
            keep_from = a if k == 0 else a + ov // 2
            sl = slice(keep_from - a, b - a)
            out[:, keep_from:b] = y[:, sl]
            filled[:, keep_from:b] = True
        return out

    def forward(self, vectors: torch.Tensor, features: torch.Tensor, mask: torch.Tensor,
                stacked: torch.Tensor | None = None):
        """Logits (dimension [B, T, D], role [B, T, R]) for padded documents (``mask`` marks real sentences)."""
        own = self.input_dropout(self.norm(vectors))
        extra = [stacked] if self.n_stack else []
        if self.ctx_size:
            x = self.project(torch.cat([own, features, *extra], -1))
            c = self.dropout(self._context(torch.relu(x), mask))
            gate = torch.sigmoid(self.dim_gate(torch.cat([own, c], -1)))
            dim = self.dim_own(torch.cat([own, *extra], -1)) + gate * self.dim_ctx(c)
            role = self.role_head(torch.cat([own, c, *extra], -1))
        else:
            dim = self.dim_own(torch.cat([own, *extra], -1))
            role = self.role_head(torch.cat([own, *extra], -1))
        return dim, role


class ContextEnsemble(nn.Module):
    """Context layers trained with different seeds; the output is the log of their mean probabilities,
    so a softmax of it gives the averaged probabilities exactly."""

    def __init__(self, members: list[ContextNetwork]):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.d_in = members[0].d_in

    @classmethod
    def build(cls, d_in: int, n_features: int, n_dimensions: int, n_roles: int, settings: ContextSettings,
              seed: int = 0) -> "ContextEnsemble":
        return cls([ContextNetwork(d_in, n_features, n_dimensions, n_roles, settings, seed=seed + i)
                    for i in range(settings.ensemble)])

    def forward(self, vectors, features, mask, stacked=None):
        if len(self.members) == 1:
            return self.members[0](vectors, features, mask, stacked)
        dims, roles = [], []
        for m in self.members:
            dl, rl = m(vectors, features, mask, stacked)
            dims.append(torch.log_softmax(dl.float(), -1))
            roles.append(torch.log_softmax(rl.float(), -1))
        k = torch.log(torch.tensor(float(len(self.members))))
        return (torch.logsumexp(torch.stack(dims), 0) - k, torch.logsumexp(torch.stack(roles), 0) - k)
