"""The typed records that come out, and the compact forms a small model fills."""
