"""xunjian's test suite: a regular package, so a third-party wheel's top-level `tests` cannot shadow it."""
