"""Tamper-evident audit trail: a hash chain of events, sealed by signed Merkle tree heads."""

from zhijing.access.audit.store import AuditEvent, AuditLog, append, append_async

__all__ = ["AuditEvent", "AuditLog", "append", "append_async"]
