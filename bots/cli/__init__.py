"""The `idkarr` command line."""
