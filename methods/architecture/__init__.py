"""Training-free architecture ranking on NAS-Bench-201: NASGraph (graph measures) and zero-cost proxies."""
