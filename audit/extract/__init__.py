"""Extraction: GitHub REST (PyGithub) -> rows in the evidence store. Never judges."""

from audit.extract.capture import ExtractionSummary, Extractor
from audit.extract.client import GitHubClient

__all__ = ["ExtractionSummary", "Extractor", "GitHubClient"]
