"""Trends: the count model that judges tag and style series (`model`) and each style's share of
posts per week, overall and per site (`shares`)."""
