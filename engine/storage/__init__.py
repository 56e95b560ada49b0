"""What the engine keeps on disk: ``artifacts`` (a trained model as safetensors plus a JSON
manifest with a checksum), ``checkpoint`` (per-epoch checkpoints that let a fit resume) and
``files`` (checksums and atomic writes both rely on). Nothing here is ever unpickled.
"""
