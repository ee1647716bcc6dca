"""The WebLogic family: servers over SSH (weblogic) and through the admin server's REST API
(weblogic_rest), into one measurement. See README.md here."""
