"""Remediation playbooks: model, catalog, steps, runner (plan → apply), lock, audit."""
