"""Demo mode and the tests' stand-in for GitHub: the fake GitHub server (`fakegithub/`) and the
built-in demo organisation `acme-fintech` it serves (`organisation.py`)."""
