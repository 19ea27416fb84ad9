"""Datasets: a registry of sources (URL, SHA-256, licence, citation), fetching and preparing.

One small module per dataset family defines ``DATASETS``; :mod:`.registry` collects them.
"""
