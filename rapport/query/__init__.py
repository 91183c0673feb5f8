"""The query language over HTTP: POST /query, /contacts/filter, /companies/filter,
/leads/filter, POST /query/validate and GET /fields."""
