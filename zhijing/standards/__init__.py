"""Identifier standards (数据元, DESIGN.md §5): the reference implementations.

Each module validates and normalizes one data element and says why a value is invalid in a
short, data-free reason code. Jobs that run in SQL (DuckDB / Spark) are tested against
these functions.
"""
