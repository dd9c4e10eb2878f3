"""The REST API's plumbing, shared by every app's API views: the router (urls), errors,
pagination, authentication, parsers and the OpenAPI document and its docs pages."""
