"""Many articles: the resumable batch runner and Ray Data."""
