"""Data: the sources a dataset is read from (files, folders, torchvision's sets, CSV
tables and text, array files), the datasets in memory or streamed, their batches and
augmentation, and fitting a network to them. Builds on `graph`; never imports training
or interop."""
