"""Few-shot meta-learning with augmentation at every level of an episode, and Meta-MaxUp.

Ni, Goldblum, Sharaf, Kong & Goldstein, "Data Augmentation for Meta-Learning", ICML 2021
(arXiv 2010.07092), re-implemented from the paper and the description of ``RenkunNi/MetaAug``:
episodes (:mod:`.episodes`), backbones (:mod:`.backbones`), heads (:mod:`.heads`),
augmentations (:mod:`.augment`, :mod:`.recipes`), the Meta-MaxUp loss (:mod:`.maxup`), the episodic
training loop (:mod:`.training`), evaluation (:mod:`.evaluation`) and the study (:mod:`.study`).
"""
