"""The interactive API docs, Swagger UI at /docs and ReDoc at /redoc, served offline."""
