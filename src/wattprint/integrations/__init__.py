"""Where users already work: experiment trackers (MLflow, Weights & Biases, TensorBoard) and training
callbacks (``transformers`` Trainer, Lightning). Each library is imported only when its integration is used,
and a missing one is named with the extra that installs it (docs/integrations.md)."""
