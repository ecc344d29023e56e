"""The console front end: idkarr in a terminal, with no tokens and no accounts."""
