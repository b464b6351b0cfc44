"""The index agent and its library code: the document store, passages and search."""
