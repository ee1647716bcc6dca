"""The Oracle family: health (oracle), RMAN backups (oracle_backup) and SQL probes
(sqlplus_probe), all through sqlplus over SSH. See README.md here."""
