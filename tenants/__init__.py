"""Tenants and users: the models, roles, the current-tenant scope and their administration."""
