"""Dense float baselines: the models the pruning and quantization studies start from."""
