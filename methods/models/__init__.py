"""Shared backbones and the classifier training loop used by several studies."""
