"""Talking to the Git forge (GitHub's REST API): one client, reused by every capability."""
