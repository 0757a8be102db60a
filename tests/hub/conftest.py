"""Fixtures of the Hub tests: the published-repo folders (built once per session) and a private Hub cache."""

from hub_repos import hub_cache, repos  # noqa: F401 - pytest finds fixtures by name here
