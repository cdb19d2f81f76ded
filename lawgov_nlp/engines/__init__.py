"""Engines run the same steps (read → segment → tag → write) in different places: :mod:`.local`
(batched, in this process)."""
