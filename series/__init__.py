"""Series recipes shipped with porter: series/NAME/ (recipe.toml, cover.txt, steps/)."""
