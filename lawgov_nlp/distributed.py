"""Tagging on Ray, for users already on a cluster (``pip install "lawgov-nlp[ray]"``).

    import ray, lawgov_nlp.distributed as ld
    ds = ray.data.read_binary_files("s3://bucket/reports/", include_paths=True)   # or from_items([{"path": …}])
    sentences = ld.tag_dataset(ds, model=None, actors=8, threads=2)             # one row per sentence
    sentences.write_parquet("s3://bucket/tags/")

or, in a pipeline of your own, the callable class::

    ds.map_batches(ld.TagBatch, batch_format="pandas", compute=ray.data.ActorPoolStrategy(size=8),
                   num_cpus=2, fn_constructor_kwargs={"threads": 2})

The rows and columns are those of ``lawgov tag`` (the local engine). Importing this module does
not import Ray; the functions do, and without it they raise one line that says how to install it.
The pieces are in :mod:`lawgov_nlp.engines.ray_data`.
"""
from __future__ import annotations

from .engines.ray_data import (TagBatch, TagDocuments, explode_sentences, ray_runtime, read_segment, require_ray,
                               tag_dataset, tag_documents_dataset)

__all__ = ["tag_dataset", "tag_documents_dataset", "TagBatch", "TagDocuments", "read_segment", "explode_sentences",
           "ray_runtime", "require_ray"]
