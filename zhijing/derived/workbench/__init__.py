"""The joint-operations workbench (合成作战): search everything, trajectories, companions,
collision and comparison — one module per analysis, all over the ``presence`` table (who
or what was where and when, with its source record) and the search index, both derived
from the clean zone and the entity masters."""
