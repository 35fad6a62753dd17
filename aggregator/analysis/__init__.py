"""What analysts run: the policy registry, impact analysis and the visit importers."""
