"""`make bench`: figures for speed and memory, kept out of the shipped package."""
