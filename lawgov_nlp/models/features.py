"""Structure features of a sentence in its document, for the document-context model.

Pure functions (numpy only): where a sentence sits (heading or body, heading level, position in
the document, first or last in its paragraph, a new section starting), never what it says — the
encoder reads the words.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

FEATURE_NAMES = (
    "is_heading", "level_1", "level_2", "level_3", "level_4", "field_line",
    "position", "first_in_paragraph", "last_in_paragraph", "length", "section_depth", "new_section",
    "first_in_document", "last_in_document", "in_paragraph_position",
)
N_FEATURES = len(FEATURE_NAMES)


def structure_features(sentences: Sequence[Any]):
    """[n, N_FEATURES] float32 features for the sentences of one document, in order."""
    import numpy as np

    n = len(sentences)
    out = np.zeros((n, N_FEATURES), dtype=np.float32)
    if n == 0:
        return out
    paragraphs = [getattr(s, "paragraph", i) for i, s in enumerate(sentences)]
    in_par = 0
    for i, s in enumerate(sentences):
        f = out[i]
        level = getattr(s, "heading_level", None)
        if getattr(s, "is_heading", False):
            f[0] = 1.0
            if level and 1 <= level <= 4:
                f[level] = 1.0
        section = tuple(getattr(s, "section", ()) or ())
        # a titled field line (存在问题1：… / 牵头单位：…) scopes its own paragraph
        if section and getattr(sentences[i], "is_heading", False) is False and _field_scoped(s):
            f[5] = 1.0
        f[6] = i / (n - 1) if n > 1 else 0.0
        first = i == 0 or paragraphs[i] != paragraphs[i - 1]
        last = i == n - 1 or paragraphs[i] != paragraphs[i + 1]
        in_par = 0 if first else in_par + 1
        f[7] = float(first)
        f[8] = float(last)
        f[9] = min(1.0, math.log1p(len(getattr(s, "text", "") or "")) / 6.0)
        f[10] = min(1.0, len(section) / 5.0)
        prev = tuple(getattr(sentences[i - 1], "section", ()) or ()) if i else None
        f[11] = float(i == 0 or prev != section)
        f[12] = float(i == 0)
        f[13] = float(i == n - 1)
        f[14] = min(1.0, in_par / 8.0)
    return out


def _field_scoped(s: Any) -> bool:
    """Whether the sentence sits under a titled field line of its own paragraph (level 5)."""
    text = getattr(s, "text", "") or ""
    section = tuple(getattr(s, "section", ()) or ())
    return bool(section) and text.startswith(section[-1]) and len(section[-1]) <= 12
