"""Helpers shared by the tests (and the research bench); not part of the library."""
