"""The model registry on Git tags (GTO-compatible): register, promote, deprecate, fetch, release.

Versions are annotated tags `NAME@vX.Y.Z` whose message carries provenance; stages are
tags `NAME#STAGE#N`. All reads come from one `git for-each-ref` call (see `store`).
Importing this package does no I/O.
"""
