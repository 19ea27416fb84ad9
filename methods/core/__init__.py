"""Shared machinery: errors, atomic writes, seeds, threads, provenance, statistics, studies."""
