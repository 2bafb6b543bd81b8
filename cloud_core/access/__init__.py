"""Who may call what: roles and the method table (``policy``, pure), bearer tokens, the
authenticating interceptor and the binding of an edge to its store; and what the audit trail records
of each change (``audit``, pure).
"""
