"""Models behind one protocol: providers, the embedded runtime, and the wrappers
(cache, recording, replay) that sit in front of any of them."""
