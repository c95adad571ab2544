"""What people see: the CLI, the review page and the eval report."""
