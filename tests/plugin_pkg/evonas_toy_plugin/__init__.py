"""A toy evonas plug-in: a four-gene space, an evaluator that needs no training and a training strategy."""
