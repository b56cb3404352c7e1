"""The resource-sharing exchange (资源共享交换): sharing contracts with outside departments and
the four services behind them — verification (核查), query (查询), batch comparison (比对) and
subscription (订阅) — each call audited as a disclosure, metered against the contract's
quota, watched for enumeration (docs/sharing.md).

Reads the serving store (persons, their keys and extras), so it sits beside ``cases`` and
``command``; the access layer below holds the purpose (``contract:<id>``) each call names.
"""
