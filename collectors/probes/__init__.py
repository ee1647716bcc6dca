"""Service probes from the agent (http_probe, tcp_probe, sql_probe): up, down or not run.
See README.md here."""
