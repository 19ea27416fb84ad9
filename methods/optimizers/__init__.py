"""Training cost to a validation target (AlgoPerf methodology): tuned Adam, SAMUEL, NPACS."""
