"""Developer tools that read the whole repository (all three levels) rather than belong to one of them."""
