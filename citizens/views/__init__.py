"""Citizen portal pages: thin views over the dossiers and citizens services."""
