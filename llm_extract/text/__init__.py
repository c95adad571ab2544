"""Reading the article before any call: sentences, deal windows, candidate spans, chunks."""
