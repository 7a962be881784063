"""The dashboard's look: shared components, figures, and every component id, defined once."""
