"""Tabular classification with language-model embeddings: TDTransformer and its baselines.

Huang, Srinivas, Samulowitz, D'Souza, Aggarwal, Chen & Gao, "Language Models Are Good Tabular
Learners", TMLR 2025 (code: Zhenhan-Huang/TDTransformer), against row-as-text and per-cell text
embeddings (Koloski et al., arXiv 2502.11596) and classical baselines.
"""
