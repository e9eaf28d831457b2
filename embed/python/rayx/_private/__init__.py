"""rayx internals: not a public API; names here may change without notice."""
