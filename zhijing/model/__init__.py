"""The model (要素模型, DESIGN §10): one meaning for every dataset.

``types`` — the entity and event types (``types.yaml``, plus a deployment's own);
``check`` — a dataset's mappings against the types and its fields;
``build`` — the lake's ``model`` zone, one table per event type, the union of every dataset
mapped to it; ``read`` — what analyses use to read it (never a dataset or a header).
"""
