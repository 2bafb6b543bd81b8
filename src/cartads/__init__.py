"""CartAds' contract: the generated bindings in ``cartads.v1`` and the few helpers every component
shares because they are part of the contract too (token format, error details, server plumbing)."""
