"""Recipes: every step that makes a model, from one YAML file, resumable (`vid2world train --recipe`)."""
