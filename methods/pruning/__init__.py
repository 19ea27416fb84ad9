"""Pruning: ShrinkBench-style unstructured baselines, structured channel pruning that removes
channels, and Bonsai forward-pass-only structured pruning of transformers."""
