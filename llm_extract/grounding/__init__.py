"""After the call: align every value with the text, check relations, score confidence."""
