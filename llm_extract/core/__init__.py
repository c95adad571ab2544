"""The extraction loop (parse, validate, re-ask) and the public functions."""
