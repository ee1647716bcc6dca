"""The ground floor: the domain's plain data, configuration problems and the redactor of
secrets. Everything else may import core; core imports nothing of the project."""
