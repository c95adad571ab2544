"""Gold sets, converters, matching, scoring, baselines and the eval runner."""
