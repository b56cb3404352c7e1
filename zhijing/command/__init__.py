"""Integrated command and dispatch (一体化指挥): 110 intake, units, assignments, the live bus.

Rank 9 beside ``cases`` (docs/layers.md): it reads the model, geography roles and access, and is
wired into the app by ``zhijing/api``. The shared store is ``store.py``; the API ``routes.py``.
"""
