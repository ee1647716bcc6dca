"""Helpers more than one collector family uses: the SSH command batch, redaction of
configuration text, settings field types."""
